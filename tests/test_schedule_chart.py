"""The chart's scheduled runs (schedule.cron): a CronJob whose Job pod is the driver, wired per run.

Each shape of the matrix is rendered by the embedded Helm engine, validated strictly against
Kubernetes' schemas (batch/v1 CronJob included) for 1.29 and the newest known version, checked
against Pod Security "restricted" (the Job's pod and the executors'), and held to the wiring of a
scheduled run (`check_schedule`): the run's pod is the single-run driver Pod with only the per-run
differences, every run names its driver and executors after its own pod and reaches its driver at
its pod IP, and the NetworkPolicies and the UI Service select the run's pods by the labels they carry.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from sparkhelm.spec.naming import MAX_APP_NAME, AppNames
from tests.conftest import CHART, render_objects
from tests.invariants import parse_spark_defaults, validate_strictly
from tests.pss import restricted_violations
from tests.test_render_matrix import KUBE_VERSIONS, LONGEST
from tests.tools import tool

Obj = dict[str, Any]
CRON = {"cron": "0 2 * * *"}
PER_RUN = {"spark.kubernetes.driver.pod.name", "spark.kubernetes.executor.podNamePrefix", "spark.driver.host"}

MATRIX: dict[str, tuple[str, Obj]] = {
    "defaults": ("nightly", {"schedule": CRON}),
    "allow-time-zone-ttl": ("nightly", {"schedule": {**CRON, "timeZone": "Europe/Paris", "concurrencyPolicy": "Allow"}, "ttl": "1h30m"}),
    "every-field": ("etl", {"schedule": {"cron": "*/15 6-18 * * MON-FRI", "concurrencyPolicy": "Replace", "suspend": True,
                                         "startingDeadlineSeconds": 300, "successfulJobsHistoryLimit": 5,
                                         "failedJobsHistoryLimit": 2, "retries": 2}, "ttl": "2d"}),
    "macro": ("etl", {"schedule": {"cron": "@hourly"}}),
    "longest-name": (LONGEST, {"schedule": CRON, "ui": {"ingress": {"enabled": True}}}),
    "28-character-name": ("a" * 27 + "z", {"schedule": CRON}),
    "volcano-priority-affinity": ("etl", {"schedule": CRON, "scheduler": {"name": "volcano"}, "priorityClassName": "urgent",
                                          "driver": {"nodeAffinity": {"values": ["drivers"]}}, "executor": {"nodeAffinity": {"values": ["spot"]}}}),
    "secrets-hadoop-volumes": ("etl", {"schedule": CRON, "hadoop": {"configMap": "hadoop"},
                                       "secrets": {"env": [{"name": "AWS_ACCESS_KEY_ID", "secretName": "s3", "key": "id"}],
                                                   "files": [{"secretName": "krb", "mountPath": "/etc/krb"}]},
                                       "driver": {"env": [{"name": "TEAM", "value": "data"}]}}),
    "metrics-podmonitor": ("etl", {"schedule": CRON, "metrics": {"enabled": True, "podMonitor": {"enabled": True}}}),
    "no-network-policy-no-rbac": ("etl", {"schedule": CRON, "networkPolicy": {"enabled": False},
                                          "serviceAccount": {"create": False, "name": "spark"}, "rbac": {"create": False}}),
    "dynamic-allocation": ("etl", {"schedule": CRON, "dynamicAllocation": {"enabled": True, "maxExecutors": 4}}),
}


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _env_source(container: Obj, name: str) -> str | None:
    entry = next((e for e in container.get("env") or [] if e["name"] == name), None)
    return ((entry or {}).get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")


def _conf_args(args: list[str]) -> dict[str, str]:
    return dict(args[i + 1].split("=", 1) for i, arg in enumerate(args[:-1]) if arg == "--conf")


def check_schedule(objects: list[Obj], single_run: list[Obj], *, app: str, values: Obj) -> dict[str, Any]:
    """The wiring of a scheduled app; `single_run` is the same app rendered without a schedule. Returns its parts."""
    problems: list[str] = []
    kinds = [o["kind"] for o in objects]
    if kinds.count("CronJob") != 1 or "Pod" in kinds:
        problems.append(f"expected one CronJob and no bare Pod, rendered {kinds}")
    if any(o["kind"] == "Service" and o["spec"].get("clusterIP") == "None" for o in objects):
        problems.append("a headless Service: it would select every run's driver")
    cron = next(o for o in objects if o["kind"] == "CronJob")
    names = AppNames(app)
    if cron["metadata"]["name"] != names.cron_job or len(f"{names.cron_job}-29999999-abcde") > MAX_APP_NAME:
        problems.append(f"CronJob {cron['metadata']['name']}: runs' pod names would not fit the executor prefix limit")
    schedule = values["schedule"]
    spec = cron["spec"]
    expected = {"schedule": schedule["cron"], "concurrencyPolicy": schedule["concurrencyPolicy"], "suspend": schedule["suspend"],
                "successfulJobsHistoryLimit": schedule["successfulJobsHistoryLimit"],
                "failedJobsHistoryLimit": schedule["failedJobsHistoryLimit"]}
    if schedule.get("timeZone"):
        expected["timeZone"] = schedule["timeZone"]
    if schedule.get("startingDeadlineSeconds") is not None:
        expected["startingDeadlineSeconds"] = schedule["startingDeadlineSeconds"]
    if {k: spec.get(k) for k in expected} != expected or ("timeZone" in spec) != bool(schedule.get("timeZone")):
        problems.append(f"CronJob spec {spec} does not carry the schedule values {expected}")
    job = spec["jobTemplate"]
    if job["spec"].get("backoffLimit") != schedule["retries"]:
        problems.append("backoffLimit is not schedule.retries")
    ttl = values.get("ttl")
    seconds = sum(int(n) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[u] for n, u in re.findall(r"(\d+)([smhd])", ttl or ""))
    if job["spec"].get("ttlSecondsAfterFinished") != (seconds if ttl else None):
        problems.append(f"ttlSecondsAfterFinished {job['spec'].get('ttlSecondsAfterFinished')} is not ttl {ttl!r}")
    if job["metadata"]["labels"].get("app-name") != app:
        problems.append("the Jobs would not carry the app-name label (delete and gc find them by it)")

    # The run's pod is the driver Pod of one run, but for what differs per run.
    pod = {"apiVersion": "v1", "kind": "Pod", **copy.deepcopy(job["spec"]["template"])}
    pod["metadata"]["namespace"] = cron["metadata"]["namespace"]
    driver = copy.deepcopy(next(o for o in single_run if o["kind"] == "Pod"))
    container = pod["spec"]["containers"][0]
    if pod["spec"]["restartPolicy"] != "Never":
        problems.append("a run's pod must not restart its driver (same pod name, same executor names)")
    pod_name_var = next((e["name"] for e in container["env"] if _env_source(container, e["name"]) == "metadata.name"), None)
    ip_var = next((e["name"] for e in container["env"] if _env_source(container, e["name"]) == "status.podIP"), None)
    conf = _conf_args(container["args"])
    wanted = {"spark.driver.bindAddress": f"$({ip_var})", "spark.kubernetes.driver.pod.name": f"$({pod_name_var})",
              "spark.kubernetes.executor.podNamePrefix": f"$({pod_name_var})", "spark.driver.host": f"$({ip_var})"}
    if pod_name_var is None or ip_var is None or conf != wanted:
        problems.append(f"per-run wiring on the command line is {conf}, expected {wanted}")
    per_run = [item for key in ("spark.kubernetes.driver.pod.name", "spark.kubernetes.executor.podNamePrefix",
                                "spark.driver.host") for item in ("--conf", f"{key}={wanted[key]}")]
    if container["args"][3:9] != per_run:
        problems.append(f"the per-run --conf arguments are not right after spark.driver.bindAddress: {container['args']}")
    extra_env = [e for e in container["env"] if e["name"] == pod_name_var]
    container["env"] = [e for e in container["env"] if e["name"] != pod_name_var]
    container["args"] = container["args"][:3] + container["args"][9:]
    driver["metadata"].pop("name")
    driver["spec"]["restartPolicy"] = "Never"
    if yaml.safe_dump(pod, sort_keys=True) != yaml.safe_dump(driver, sort_keys=True) or len(extra_env) != 1:
        problems.append("the run's pod differs from the single-run driver Pod beyond its name, restart policy and per-run wiring")

    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    file_conf = parse_spark_defaults(configmap["data"]["spark-defaults.conf"])
    if PER_RUN & set(file_conf):
        problems.append(f"spark-defaults.conf sets per-run keys {sorted(PER_RUN & set(file_conf))}: every run would share them")
    if file_conf.get("spark.kubernetes.executor.useDriverPodIP") != "false":
        problems.append("executors must dial spark.driver.host (the run's pod IP), on Spark 3 and 4 alike")
    template = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])
    labels, t_labels = pod["metadata"]["labels"], template["metadata"]["labels"]
    if labels.get("app-name") != app or labels.get("spark-role") != "driver":
        problems.append("a run's pod lacks app-name / spark-role: driver")
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        selector = policy["spec"]["podSelector"]["matchLabels"]
        role = policy["metadata"]["labels"]["app.kubernetes.io/component"]
        if not _selects(selector, labels if role == "driver" else t_labels):
            problems.append(f"NetworkPolicy {policy['metadata']['name']} does not select the {role} pods of a run")
    ui = next(o for o in objects if o["kind"] == "Service")
    if not _selects(ui["spec"]["selector"], labels) or _selects(ui["spec"]["selector"], t_labels):
        problems.append("the UI Service does not select a run's driver (only)")
    for obj in objects:
        if ttl and (obj["metadata"].get("annotations") or {}).get("sparkhelm.io/ttl") != ttl:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']} lacks sparkhelm.io/ttl")
        if obj["metadata"].get("labels", {}).get("app-name") != app:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']} lacks the app-name label")
    if problems:
        raise AssertionError("scheduled-run wiring violated:\n  " + "\n  ".join(problems))
    return {"cron": cron, "pod": pod, "template": template, "conf": conf}


def _render_both(tmp_path: Path, name: str, data: Obj) -> tuple[list[Obj], list[Obj], Obj]:
    objects, effective, _ = render_objects(tmp_path / "scheduled", data, name=name)
    single = {k: v for k, v in data.items() if k != "schedule"}
    single_run, _, _ = render_objects(tmp_path / "single", single, name=name)
    return objects, single_run, effective


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_scheduled_shapes_render_valid_restricted_wired_objects(tmp_path: Path, case: str) -> None:
    name, data = MATRIX[case]
    (tmp_path / "scheduled").mkdir()
    (tmp_path / "single").mkdir()
    objects, single_run, effective = _render_both(tmp_path, name, data)
    parts = check_schedule(objects, single_run, app=name, values=effective)
    for version in KUBE_VERSIONS:
        for obj in [*objects, parts["template"]]:
            validate_strictly(obj, version)
    assert restricted_violations(parts["pod"]) == [] and restricted_violations(parts["template"]) == []


def test_the_checker_catches_broken_schedule_wiring(tmp_path: Path) -> None:
    """check_schedule is not vacuous: each breakage of a scheduled render is reported."""
    (tmp_path / "scheduled").mkdir()
    (tmp_path / "single").mkdir()
    name, data = MATRIX["allow-time-zone-ttl"]
    objects, single_run, effective = _render_both(tmp_path, name, data)
    check_schedule(objects, single_run, app=name, values=effective)

    def job_pod(objs: list[Obj]) -> Obj:
        return next(o for o in objs if o["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"]["template"]

    def args(objs: list[Obj]) -> list[str]:
        return job_pod(objs)["spec"]["containers"][0]["args"]

    breakages = {
        "prefix from the app-name": lambda objs: args(objs).__setitem__(6, f"spark.kubernetes.executor.podNamePrefix={name}"),
        "driver host a Service": lambda objs: args(objs).__setitem__(8, f"spark.driver.host={name}-driver-svc"),
        "restarts": lambda objs: job_pod(objs)["spec"].__setitem__("restartPolicy", "OnFailure"),
        "lost label": lambda objs: job_pod(objs)["metadata"]["labels"].pop("spark-role"),
        "ttl ignored": lambda objs: next(o for o in objs if o["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"].pop("ttlSecondsAfterFinished"),
        "other image": lambda objs: job_pod(objs)["spec"]["containers"][0].__setitem__("image", "other:1"),
        "headless Service": lambda objs: objs.append({**next(o for o in single_run if o["kind"] == "Service" and o["spec"].get("clusterIP") == "None")}),
    }
    for what, breakage in breakages.items():
        broken = copy.deepcopy(objects)
        breakage(broken)
        with pytest.raises(AssertionError):
            check_schedule(broken, single_run, app=name, values=effective)
            pytest.fail(f"not caught: {what}")


def test_ttl_durations_become_seconds(tmp_path: Path) -> None:
    for ttl, seconds in (("45s", 45), ("1h30m", 5400), ("2d", 172800), ("1d2h3m4s", 93784)):
        objects, _, _ = render_objects(tmp_path, {"schedule": CRON, "ttl": ttl}, name="t")
        cron = next(o for o in objects if o["kind"] == "CronJob")
        assert cron["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] == seconds, ttl


def test_long_app_names_get_short_distinct_cronjob_names(tmp_path: Path) -> None:
    """Two 40-character names that share their first 20 characters keep distinct CronJobs, each of 32 characters."""
    first, second = "team-analytics-daily-" + "a" * 19, "team-analytics-daily-" + "b" * 19
    rendered = []
    for app in (first, second):
        objects, _, _ = render_objects(tmp_path, {"schedule": CRON}, name=app)
        rendered.append(next(o for o in objects if o["kind"] == "CronJob")["metadata"]["name"])
    assert rendered == [AppNames(first).cron_job, AppNames(second).cron_job]
    assert rendered[0] != rendered[1] and all(len(n) == 32 and n.startswith("team-analytics-daily-") for n in rendered)


def _chart_render(values: Obj, release: str = "nightly") -> dict[str, str]:
    with helm_python.Chart.load(str(CHART)) as chart:
        return chart.render(values, name=release, namespace="ns")


@pytest.mark.parametrize(("values", "message"), [
    ({"schedule": {**CRON}, "connect": {"enabled": True}}, "schedule.cron with connect.enabled"),
    ({"schedule": {**CRON}, "driver": {"restartPolicy": "OnFailure"}}, "schedule.cron with driver.restartPolicy OnFailure"),
    ({"schedule": {**CRON}, "scheduler": {"queue": "q", "kueue": {"enabled": True}}}, "schedule.cron with scheduler.kueue.enabled"),
    ({"schedule": {"cron": "0 2 * * * *"}}, "/schedule/cron"),
    ({"schedule": {"cron": "TZ=UTC 2 * * *"}}, "/schedule/cron"),
    ({"schedule": {**CRON, "concurrencyPolicy": "Sometimes"}}, "/schedule/concurrencyPolicy"),
    ({"schedule": {**CRON, "retries": -1}}, "/schedule/retries"),
])
def test_the_chart_refuses_what_a_cronjobs_runs_cannot_be(values: Obj, message: str) -> None:
    """Raw Helm users get the same refusals: the schema and _preflight.tpl."""
    with pytest.raises(helm_python.HelmError, match=message.replace(".", r"\.")):
        _chart_render(values)


def test_a_single_run_renders_as_before(tmp_path: Path) -> None:
    """No schedule: the bare driver Pod and the headless Service, the wiring in spark-defaults.conf, no CronJob."""
    objects, _, _ = render_objects(tmp_path, {}, name="once")
    kinds = [o["kind"] for o in objects]
    assert "CronJob" not in kinds and kinds.count("Pod") == 1
    conf = parse_spark_defaults(next(o for o in objects if o["kind"] == "ConfigMap")["data"]["spark-defaults.conf"])
    assert set(conf) >= PER_RUN


# --- the real Helm binaries ---------------------------------------------------------------------

SCHEDULE_VALUES = CHART / "ci" / "schedule-values.yaml"


@pytest.mark.parametrize("helm", ["helm3", "helm4"])
def test_real_helm_installs_the_schedule_on_the_emulator(tmp_path: Path, helm: str) -> None:
    """helm install of ci/schedule-values.yaml: the API server (emulated, Kubernetes' schemas) takes the CronJob."""
    from tests.harness import RunningCluster
    from tests.harness.controllers import CRONJOBS

    binary = tool(helm)
    cluster = RunningCluster(tmp_path, namespaces=("default", "team-a"))
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "HELM_CONFIG_HOME": str(tmp_path / "c"),
           "HELM_CACHE_HOME": str(tmp_path / "k"), "HELM_DATA_HOME": str(tmp_path / "d")}
    try:
        result = subprocess.run([str(binary), "install", "nightly", str(CHART), "-n", "team-a", "-f", str(SCHEDULE_VALUES)],
                                capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stderr
        assert "CronJob:      nightly-cron" in result.stdout  # NOTES

        async def read() -> Obj | None:
            async with cluster.emulator._lock:
                return cluster.emulator._live(CRONJOBS, "team-a", "nightly-cron")

        cron = cluster.call(read())
        assert cron is not None and cron["spec"]["schedule"] == "30 2 * * *" and cron["spec"]["timeZone"] == "Europe/Paris"
        assert cron["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] == 3600
        assert cluster.names("Pod", "team-a") == [] and "nightly-driver-svc" not in cluster.names("Service", "team-a")
    finally:
        cluster.close()


def test_sparkhelm_template_of_a_schedule_equals_a_plain_helm_render(cli: Any) -> None:
    """The architecture's rule holds for schedules: the CLI computes values, the chart renders them."""
    from sparkhelm.engine.manifests import format_manifest

    pin = ["--set", "security.rpc.secret=schedule-test-secret-0123456789abcdef012"]  # else generated anew by each command
    values_result = cli("values", "-f", SCHEDULE_VALUES, "--name", "nightly", *pin)
    assert values_result.exit_code == 0, values_result.stderr
    values = yaml.safe_load(values_result.stdout)
    template_result = cli("template", "-f", SCHEDULE_VALUES, "--name", "nightly", "-n", "ns-1", *pin)
    assert template_result.exit_code == 0, template_result.stderr
    with helm_python.Chart.load(str(CHART)) as chart:
        plain = format_manifest(chart.render(values, name="nightly", namespace="ns-1", is_install=True))[0]
    assert template_result.stdout == plain and "kind: CronJob" in plain


def test_run_schedule_is_an_alias_of_the_values(cli: Any) -> None:
    """`run --schedule X --time-zone Z` plans the objects `schedule.cron=X, schedule.timeZone=Z` render."""
    flagged = cli("run", "--name", "nightly", "--schedule", "0 2,14 * * *", "--time-zone", "UTC", "--dry-run")
    valued = cli("run", "--name", "nightly", "--set-string", "schedule.cron=0 2\\,14 * * *",
                 "--set-string", "schedule.timeZone=UTC", "--dry-run")
    assert flagged.exit_code == valued.exit_code == 0, flagged.stderr + valued.stderr
    assert flagged.stdout == valued.stdout and "CronJob/nightly-cron" in flagged.stdout
    assert "Pod/" not in flagged.stdout
