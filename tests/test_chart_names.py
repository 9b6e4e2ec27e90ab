"""The chart's layout: helpers in topic files, every object name from one named helper, the 16-character
suffix rule, and one pod-spec fragment shared by the driver Pod and the executor pod template."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import CHART, render_objects

TEMPLATES = CHART / "templates"
TOPIC_FILES = {"_names.tpl", "_labels.tpl", "_pod.tpl", "_sparkconf.tpl", "_ui.tpl", "_secrets.tpl", "_preflight.tpl",
               "_scheduling.tpl", "_metrics.tpl", "_connect.tpl", "_schedule.tpl"}
MAX_SUFFIX = 16
LONGEST = "a" + "b" * 45 + "z"  # 47 characters, the longest allowed app-name

#: Values that render every object the chart can render (with NATIVE_GANG: the two gangs exclude each other).
GATEWAY = {"parentRefs": [{"name": "shared"}], "gatewayPeers": [{"namespaceSelector": {}}]}
EVERYTHING = {
    "ui": {"ingress": {"enabled": True, "tls": True, "host": "spark.example.com"}, "httpRoute": {"enabled": True, **GATEWAY}},
    "connect": {"enabled": True, "grpcRoute": {"enabled": True, **GATEWAY}},
    "scheduler": {"name": "volcano"},
    "metrics": {"enabled": True, "podMonitor": {"enabled": True}},
}
NATIVE_GANG = {**EVERYTHING, "scheduler": {"gang": {"enabled": True}}}


def _defines(path: Path) -> list[str]:
    return re.findall(r'define "([^"]+)"', path.read_text())


def test_helpers_live_in_topic_files_and_are_namespaced() -> None:
    helpers = {p.name for p in TEMPLATES.glob("_*.tpl")}
    assert helpers == TOPIC_FILES
    names = [name for path in TEMPLATES.glob("_*.tpl") for name in _defines(path)]
    assert names and all(name.startswith("spark-client-app.") for name in names)
    assert len(names) == len(set(names)), "a helper is defined twice"
    used = {m for p in TEMPLATES.iterdir() for m in re.findall(r'include "([^"]+)"', p.read_text())}
    assert set(names) - used == set(), "helpers nobody includes"
    assert used - set(names) == set(), "includes of undefined helpers"


def test_every_object_name_comes_from_a_helper_of_names_tpl() -> None:
    """metadata.name (and the Role a RoleBinding refers to) is never written inline."""
    name_helpers = set(_defines(TEMPLATES / "_names.tpl"))
    checked = []
    for template in TEMPLATES.glob("*.yaml"):
        for line in template.read_text().splitlines():
            match = re.match(r"^\s{2}name: (.*)$", line)  # metadata.name and roleRef.name
            if match:
                value = match.group(1)
                helper = re.fullmatch(r'\{\{ include "([^"]+)" \. \}\}', value)
                assert helper and helper.group(1) in name_helpers, (template.name, value)
                checked.append(helper.group(1))
    assert len(checked) >= 16  # 15 objects and the RoleBinding's roleRef


def test_suffix_rule_is_written_and_holds_for_every_rendered_object(tmp_path: Path) -> None:
    comment = (TEMPLATES / "_names.tpl").read_text()
    assert f"at most {MAX_SUFFIX} characters" in comment and "47" in comment
    objects, _, _ = render_objects(tmp_path, EVERYTHING, name=LONGEST)
    gang, _, _ = render_objects(tmp_path, NATIVE_GANG, name=LONGEST)
    objects += [o for o in gang if o["apiVersion"].startswith("scheduling.k8s.io/")]
    kinds = {o["kind"] for o in objects}
    assert {"Pod", "Service", "Ingress", "HTTPRoute", "GRPCRoute", "ConfigMap", "PodGroup", "NetworkPolicy", "Role",
            "RoleBinding", "ServiceAccount", "PodMonitor"} <= kinds
    assert len([o for o in objects if o["kind"] == "PodGroup"]) == 2  # Volcano's and Kubernetes' own
    suffixes = [o["metadata"]["name"].removeprefix(LONGEST) for o in objects]
    ingress = next(o for o in objects if o["kind"] == "Ingress")
    suffixes.append(ingress["spec"]["tls"][0]["secretName"].removeprefix(LONGEST))
    assert all(s.startswith("-") and len(s) <= MAX_SUFFIX for s in suffixes), suffixes
    assert all(len(o["metadata"]["name"]) <= 63 for o in objects)
    assert max(map(len, suffixes)) == len("-driver-netpol")


def test_the_pod_spec_fragment_is_shared_by_the_driver_and_the_executors(tmp_path: Path) -> None:
    """One helper renders the pod-level fields of both pods: the same values land in both."""
    values = {
        "priorityClassName": "urgent", "scheduler": {"name": "volcano"}, "image": {"pullSecrets": ["regcred"]},
        "driver": {"tolerations": [{"key": "d", "operator": "Exists"}], "nodeSelector": {"pool": "d"}, "nodeAffinity": {"values": ["dp"]}},
        "executor": {"tolerations": [{"key": "e", "operator": "Exists"}], "nodeSelector": {"pool": "e"}, "nodeAffinity": {"values": ["ep"]}},
    }
    objects, _, _ = render_objects(tmp_path, values, name="shared")
    driver = next(o for o in objects if o["kind"] == "Pod")["spec"]
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    executor = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])["spec"]
    for field in ("enableServiceLinks", "priorityClassName", "schedulerName", "imagePullSecrets"):
        assert driver[field] == executor[field], field
    for role, spec in (("driver", driver), ("executor", executor)):
        assert spec["tolerations"] == values[role]["tolerations"]  # type: ignore[index]
        assert spec["nodeSelector"] == values[role]["nodeSelector"]  # type: ignore[index]
        term = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
        assert term["matchExpressions"][0]["values"] == values[role]["nodeAffinity"]["values"]  # type: ignore[index]
        assert spec["containers"][0]["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert (driver["automountServiceAccountToken"], executor["automountServiceAccountToken"]) == (True, False)
    assert (driver["serviceAccountName"], executor["serviceAccountName"]) == ("shared-driver", "shared-executor")
    assert "terminationGracePeriodSeconds" in driver and "terminationGracePeriodSeconds" not in executor
    both = [t for t in (TEMPLATES / "driver-pod.yaml", TEMPLATES / "_pod.tpl") if "podSpecCommon" in t.read_text()]
    assert len(both) == 2
    assert "priorityClassName:" not in (TEMPLATES / "driver-pod.yaml").read_text()
