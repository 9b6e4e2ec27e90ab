"""The naming contract: Python's one owner of object names (spec.naming) against what the chart renders.

The chart decides names (templates/_names.tpl); sparkhelm reads, follows and deletes objects by
them. Rendering the chart for many app names and comparing every object with `AppNames` keeps
the two from drifting; every kind the chart can render must be in kube.resources, the one table
pre-flight's permissions and delete's sweep are derived from.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sparkhelm.chart.files import values_schema
from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.kube.resources import CHART_KINDS, QUALIFIED_POD_GROUP, kind_of
from sparkhelm.ops.preflight import access_needed
from sparkhelm.spec import naming
from sparkhelm.spec.naming import CHART_SELECTOR, MAX_APP_NAME, MAX_SUFFIX, AppNames
from tests.conftest import CHART
from tests.harness.emulator import label_matcher

GATEWAY = {"parentRefs": [{"name": "shared", "namespace": "gateway-system"}],
           "gatewayPeers": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway-system"}}}]}

#: Every optional object on: Ingress with TLS, HTTPRoute, Connect server with its Service and GRPCRoute,
#: Volcano PodGroup, NetworkPolicies, RBAC, both service accounts, PodMonitor. NATIVE_GANG swaps Volcano's
#: PodGroup for Kubernetes' own (they exclude each other).
EVERYTHING = {
    "app": {"mainApplicationFile": "local:///opt/spark/examples/src/main/python/pi.py"},
    "scheduler": {"name": "volcano"},
    "ui": {"ingress": {"enabled": True, "host": "spark.example.com", "tls": True},
           "httpRoute": {"enabled": True, "hostnames": ["spark.example.com"], **GATEWAY}},
    "connect": {"enabled": True, "grpcRoute": {"enabled": True, "hostnames": ["connect.example.com"], **GATEWAY}},
    "networkPolicy": {"enabled": True},
    "rbac": {"create": True},
    "serviceAccount": {"create": True},
    "executor": {"serviceAccount": {"create": True}},
    "metrics": {"enabled": True, "podMonitor": {"enabled": True}},
}
NATIVE_GANG = {**EVERYTHING, "connect": {"enabled": False}, "scheduler": {"queue": "team-a", "kueue": {"enabled": True}, "gang": {"enabled": True}}}
#: A scheduled app (schedule.cron) with every other optional object: a CronJob instead of the driver Pod and its headless Service.
SCHEDULED = {**EVERYTHING, "connect": {"enabled": False}, "schedule": {"cron": "0 2 * * *", "concurrencyPolicy": "Allow"}}


def expected(names: AppNames, *, native_gang: bool = False) -> dict[tuple[str, str], set[str]]:
    """(kind, component) -> names, for the objects of EVERYTHING (or NATIVE_GANG)."""
    return {
        ("PodMonitor", "metrics"): {names.pod_monitor},
        ("PodGroup", "scheduling"): {names.executor_group if native_gang else names.pod_group},
        ("Pod", "driver"): {names.driver_pod},
        ("Service", "driver"): {names.driver_service},
        ("Service", "ui"): {names.ui_service},
        ("Ingress", "ui"): {names.ui_ingress},
        ("HTTPRoute", "ui"): {names.ui_route},
        ("Service", "connect"): {names.connect_service},
        ("GRPCRoute", "connect"): {names.connect_route},
        ("ConfigMap", "config"): {names.config_map},
        ("NetworkPolicy", "driver"): {names.driver_network_policy},
        ("NetworkPolicy", "executor"): {names.executor_network_policy},
        ("Role", "driver"): {names.driver_role},
        ("RoleBinding", "driver"): {names.driver_role},
        ("ServiceAccount", "driver"): {names.driver_service_account},
        ("ServiceAccount", "executor"): {names.executor_service_account},
        ("Secret", "rpc-auth"): {names.rpc_secret},
    }


def render(app: str, everything: dict = EVERYTHING) -> list[dict]:
    values = {"nameOverride": app, **everything}
    rendered = EmbeddedEngine().render(CHART, values, release=app, namespace="ns")
    return parse_manifest(rendered.manifest)


app_names = st.from_regex(r"[a-z]([-a-z0-9]{0,45}[a-z0-9])?", fullmatch=True).filter(
    lambda name: naming.app_name_problem(name) is None
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app=app_names)
def test_every_object_is_named_as_spec_naming_says(app: str) -> None:
    names = AppNames(app)
    objects = render(app)
    found: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        meta = obj["metadata"]
        found.setdefault((obj["kind"], meta["labels"]["app.kubernetes.io/component"]), set()).add(meta["name"])
        assert len(meta["name"]) <= 63
        assert label_matcher(names.selector)(meta["labels"]) and label_matcher(CHART_SELECTOR)(meta["labels"])
    assert found == expected(names)
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    conf = dict(line.split(None, 1) for line in config["data"]["spark-defaults.conf"].splitlines() if line and not line.startswith("#"))
    assert conf["spark.kubernetes.driver.pod.name"] == names.driver_pod
    assert conf["spark.kubernetes.executor.podNamePrefix"] == names.executor_prefix
    assert conf["spark.driver.host"].split(".")[0] == names.driver_service
    template = yaml.safe_load(config["data"]["executor-pod-template.yaml"])
    assert label_matcher(names.executor_selector)(template["metadata"]["labels"])
    driver = next(o for o in objects if o["kind"] == "Pod")
    assert label_matcher(naming.DRIVER_SELECTOR)(driver["metadata"]["labels"])
    tls = next(o for o in objects if o["kind"] == "Ingress")["spec"]["tls"][0]["secretName"]
    assert tls == names.ui_tls_secret
    route = next(o for o in objects if o["kind"] == "GRPCRoute")
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == names.connect_service
    ui_route = next(o for o in objects if o["kind"] == "HTTPRoute")
    assert ui_route["spec"]["rules"][0]["backendRefs"][0]["name"] == names.ui_service
    for pod in (driver, template):  # both mount the RPC secret the chart renders
        assert names.rpc_secret in [v["secret"]["secretName"] for v in pod["spec"]["volumes"] if "secret" in v]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app=app_names)
def test_the_executor_group_is_named_as_spec_naming_says(app: str) -> None:
    """Kubernetes' own PodGroup, the executors' reference to it and Kueue's pod group share one name."""
    names = AppNames(app)
    objects = render(app, NATIVE_GANG)
    found: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        found.setdefault((obj["kind"], obj["metadata"]["labels"]["app.kubernetes.io/component"]), set()).add(obj["metadata"]["name"])
    connect_objects = {("Service", "connect"), ("GRPCRoute", "connect")}  # NATIVE_GANG has no Connect server
    assert found == {k: v for k, v in expected(names, native_gang=True).items() if k not in connect_objects}
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    template = yaml.safe_load(config["data"]["executor-pod-template.yaml"])
    assert template["spec"]["schedulingGroup"]["podGroupName"] == names.executor_group
    assert template["metadata"]["annotations"]["kueue.x-k8s.io/pod-group-name"] == names.executor_group


def test_the_47_character_rule_is_the_same_in_python_the_schema_and_the_chart() -> None:
    schema = values_schema(CHART)
    definition = schema["definitions"]["appName"]
    assert definition["maxLength"] == MAX_APP_NAME
    longest = "a" * MAX_APP_NAME
    assert naming.app_name_problem(longest) is None and naming.app_name_problem(longest + "a") is not None
    assert render(longest)  # the chart takes 47 ...
    try:
        EmbeddedEngine().render(CHART, {"nameOverride": ""}, release=longest + "a", namespace="ns")
    except Exception as exc:  # ... and refuses 48, with the same limit in its message  # noqa: BLE001
        assert f"the limit is {MAX_APP_NAME}" in str(exc)
    else:
        raise AssertionError("the chart rendered a 48-character app name")
    suffixes = {obj["metadata"]["name"][MAX_APP_NAME:] for obj in render(longest)}
    assert max(len(suffix) for suffix in suffixes) <= MAX_SUFFIX


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(app=app_names)
def test_a_schedules_objects_are_named_as_spec_naming_says(app: str) -> None:
    """The CronJob is AppNames.cron_job (cut and hashed for long names); its runs' pods fit Spark's 47 characters."""
    names = AppNames(app)
    objects = render(app, SCHEDULED)
    found: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        found.setdefault((obj["kind"], obj["metadata"]["labels"]["app.kubernetes.io/component"]), set()).add(obj["metadata"]["name"])
        assert label_matcher(names.selector)(obj["metadata"]["labels"])
    single_run = {("Pod", "driver"), ("Service", "driver"), ("Service", "connect"), ("GRPCRoute", "connect")}
    wanted = {k: v for k, v in expected(names).items() if k not in single_run}
    assert found == {**wanted, ("CronJob", "schedule"): {names.cron_job}}
    assert len(names.cron_job) <= naming.MAX_CRON_JOB_NAME
    # the longest name a run's driver pod gets: <cronjob>-<minutes, 8 digits until 2160>-<5 characters>
    assert len(f"{names.cron_job}-29999999-abcde") <= MAX_APP_NAME
    cron = next(o for o in objects if o["kind"] == "CronJob")
    job = cron["spec"]["jobTemplate"]
    assert label_matcher(names.selector)(job["metadata"]["labels"])
    assert label_matcher(names.driver_selector)(job["spec"]["template"]["metadata"]["labels"])
    assert label_matcher(naming.DRIVER_SELECTOR)(job["spec"]["template"]["metadata"]["labels"])


def test_every_kind_the_chart_can_render_is_in_the_one_table() -> None:
    """Pre-flight's permission table and delete's sweep come from kube.resources: no kind may be missing."""
    objects = render("all-on") + render("all-on", NATIVE_GANG) + render("all-on", SCHEDULED)
    entries = {kind_of(obj) for obj in objects}
    assert entries <= set(CHART_KINDS.values()), entries - set(CHART_KINDS.values())
    assert {(e.api_version, e.kind) for e in entries} >= {(o["apiVersion"], o["kind"]) for o in objects if o["kind"] != "PodGroup"}
    templates = {path.name for path in (CHART / "templates").glob("*.yaml")}
    rendered_from = set()
    for everything in (EVERYTHING, NATIVE_GANG, SCHEDULED):
        rendered_from |= _sources(EmbeddedEngine().render(
            CHART, {"nameOverride": "all-on", **everything}, release="all-on", namespace="ns").manifest)
    assert templates == rendered_from, templates ^ rendered_from  # the two value sets render every template
    needed = access_needed(render("all-on"))
    kinds = {obj["kind"] for obj in render("all-on")}
    assert {("create", CHART_KINDS[k].group, CHART_KINDS[k].plural) for k in kinds} <= set(needed)


def test_two_podgroups_of_two_api_groups_are_told_apart() -> None:
    """Volcano's PodGroup keeps the key "PodGroup"; Kubernetes' own is found by its API group."""
    volcano = next(o for o in render("all-on") if o["kind"] == "PodGroup")
    native = next(o for o in render("all-on", NATIVE_GANG) if o["kind"] == "PodGroup")
    assert kind_of(volcano) is CHART_KINDS["PodGroup"] and kind_of(volcano).group == "scheduling.volcano.sh"
    assert kind_of(native) is CHART_KINDS[QUALIFIED_POD_GROUP] and kind_of(native).group == "scheduling.k8s.io"


def test_preflight_asks_for_the_native_podgroup_of_its_own_api_group() -> None:
    needed = access_needed(render("all-on", NATIVE_GANG))
    assert ("create", "scheduling.k8s.io", "podgroups") in needed
    assert ("create", "scheduling.volcano.sh", "podgroups") not in needed


def test_an_unknown_kind_is_a_loud_bug_not_a_silent_skip() -> None:
    try:
        access_needed([{"kind": "DaemonSet"}])
    except LookupError as exc:
        assert "DaemonSet" in str(exc) and "CHART_KINDS" in str(exc)
    else:
        raise AssertionError("an unknown kind was skipped")


def _sources(manifest: str) -> set[str]:
    return {Path(line.split(": ", 1)[1]).name for line in manifest.splitlines() if line.startswith("# Source: ")}


def test_python_names_have_no_copy_outside_spec_naming() -> None:
    """No module rebuilds an object name by hand: '-driver' and friends appear only in spec/naming.py."""
    root = Path(__file__).resolve().parent.parent / "sparkhelm"
    suffixes = ('-driver"', '-driver-svc', '-ui-ingress', '-ui-svc', '-exec-', '-cm"', '-podgroup', '-metrics"', '-executors',
                '-connect-svc', '-ui-route', '-connect-route', '-cron"', '-rpc-secret')
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "naming.py":
            continue
        text = path.read_text()
        offenders += [f"{path.name}: {s}" for s in suffixes if s in text]
    assert offenders == [], json.dumps(offenders)
