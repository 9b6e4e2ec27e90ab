"""Queue schedulers besides Volcano, and Kubernetes' own gang scheduling, as the chart renders them.

What each scheduler reads is taken from its own code and documentation (YuniKorn's k8shim
GetApplicationIDFromPod and gang scheduling guide, Kueue's plain Pod integration, the
scheduling.k8s.io schemas of kubernetes-validate); these tests hold the rendered driver Pod and
executor pod template to it. The cross-field refusals are in tests/test_chart_preflight.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import render_objects
from tests.invariants import parse_spark_defaults, validate_strictly

Obj = dict[str, Any]


def pods(tmp_path: Path, values: Obj, name: str = "etl") -> tuple[Obj, Obj, list[Obj], dict[str, str]]:
    """(driver pod, executor pod template, all objects, spark-defaults.conf) of a render."""
    objects, _, _ = render_objects(tmp_path, values, name=name)
    driver = next(o for o in objects if o["kind"] == "Pod")
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    template = yaml.safe_load(configmap["data"]["executor-pod-template.yaml"])
    return driver, template, objects, parse_spark_defaults(configmap["data"]["spark-defaults.conf"])


def labels(pod: Obj) -> dict[str, str]:
    return pod["metadata"].get("labels") or {}


def annotations(pod: Obj) -> dict[str, str]:
    return pod["metadata"].get("annotations") or {}


# --- YuniKorn ---------------------------------------------------------------------------------------


def test_yunikorn_puts_driver_and_executors_in_one_application_and_queue(tmp_path: Path) -> None:
    """Spark labels executors spark-app-selector=<spark app id>, which YuniKorn would take as a second
    application; the canonical label (read first) and the annotation make both pods one application."""
    driver, template, _, _ = pods(tmp_path, {"scheduler": {"name": "yunikorn", "queue": "root.sandbox.team-a"}})
    for pod in (driver, template):
        assert labels(pod)["yunikorn.apache.org/app-id"] == annotations(pod)["yunikorn.apache.org/app-id"] == "etl"
        assert labels(pod)["yunikorn.apache.org/queue"] == annotations(pod)["yunikorn.apache.org/queue"] == "root.sandbox.team-a"
        assert pod["spec"]["schedulerName"] == "yunikorn"
        assert "yunikorn.apache.org/task-groups" not in annotations(pod)


def test_yunikorn_application_id_can_be_chosen_and_the_queue_left_to_placement_rules(tmp_path: Path) -> None:
    driver, template, _, _ = pods(tmp_path, {"scheduler": {"name": "yunikorn", "yunikorn": {"applicationId": "nightly-42"}}})
    for pod in (driver, template):
        assert labels(pod)["yunikorn.apache.org/app-id"] == "nightly-42"
        assert not any(key.startswith("yunikorn.apache.org/queue") for key in {**labels(pod), **annotations(pod)})


def test_yunikorn_metadata_only_for_yunikorn(tmp_path: Path) -> None:
    driver, template, _, _ = pods(tmp_path, {"scheduler": {"name": "volcano"}, "driver": {"labels": {"team": "a"}}})
    for pod in (driver, template):
        assert not any("yunikorn" in key for key in {**labels(pod), **annotations(pod)})


def test_yunikorn_task_groups_reserve_what_the_real_pods_ask_for(tmp_path: Path) -> None:
    """The placeholders must be copies of the real pods: requests, node selector, tolerations, affinity."""
    values = {
        "scheduler": {"name": "yunikorn", "yunikorn": {"gang": {"enabled": True, "placeholderTimeoutSeconds": 120, "style": "Hard"}}},
        "driver": {"memory": "2g", "cores": 2, "nodeSelector": {"pool": "drivers"}},
        "executor": {"instances": 3, "memory": "4g", "requestCores": "1500m", "tolerations": [{"key": "spot", "operator": "Exists"}],
                     "nodeAffinity": {"key": "pool", "values": ["spark"]}},
    }
    driver, template, _, conf = pods(tmp_path, values)
    groups = {g["name"]: g for g in json.loads(annotations(driver)["yunikorn.apache.org/task-groups"])}
    assert set(groups) == {"spark-driver", "spark-executor"}
    assert annotations(driver)["yunikorn.apache.org/task-group-name"] == "spark-driver"
    assert annotations(template)["yunikorn.apache.org/task-group-name"] == "spark-executor"
    assert "yunikorn.apache.org/task-groups" not in annotations(template)  # the first pod (the driver) carries them
    assert annotations(driver)["yunikorn.apache.org/schedulingPolicyParameters"] == "placeholderTimeoutInSeconds=120 gangSchedulingStyle=Hard"
    # the driver's group is the driver pod as rendered
    assert groups["spark-driver"]["minMember"] == 1
    assert groups["spark-driver"]["minResource"] == driver["spec"]["containers"][0]["resources"]["requests"]
    assert groups["spark-driver"]["nodeSelector"] == {"pool": "drivers"}
    # the executors' group is the executor pod as Spark will build it: 4g heap + max(384m, 10%) overhead
    assert groups["spark-executor"]["minMember"] == int(conf["spark.executor.instances"]) == 3
    assert groups["spark-executor"]["minResource"] == {"cpu": "1500m", "memory": f"{4096 + 409}Mi"}
    assert groups["spark-executor"]["tolerations"] == template["spec"]["tolerations"]
    assert groups["spark-executor"]["affinity"] == template["spec"]["affinity"]


def test_yunikorn_executor_group_follows_dynamic_allocation_and_overrides(tmp_path: Path) -> None:
    base = {"scheduler": {"name": "yunikorn", "yunikorn": {"gang": {"enabled": True}}}, "executor": {"instances": 1},
            "dynamicAllocation": {"enabled": True, "minExecutors": 4, "maxExecutors": 9}}
    driver, _, _, _ = pods(tmp_path, base)
    groups = {g["name"]: g for g in json.loads(annotations(driver)["yunikorn.apache.org/task-groups"])}
    assert groups["spark-executor"]["minMember"] == 4  # Spark starts max(minExecutors, instances)
    assert annotations(driver)["yunikorn.apache.org/schedulingPolicyParameters"] == "gangSchedulingStyle=Soft"
    base["scheduler"]["yunikorn"]["gang"].update(minMember=2, executorMinResource={"cpu": "2", "memory": "8Gi"})
    driver, _, _, _ = pods(tmp_path, base)
    groups = {g["name"]: g for g in json.loads(annotations(driver)["yunikorn.apache.org/task-groups"])}
    assert groups["spark-executor"]["minMember"] == 2 and groups["spark-executor"]["minResource"] == {"cpu": "2", "memory": "8Gi"}


# --- Kueue ------------------------------------------------------------------------------------------


def test_kueue_queues_the_driver_alone_and_the_executors_as_one_pod_group(tmp_path: Path) -> None:
    driver, template, objects, conf = pods(tmp_path, {"scheduler": {"queue": "team-a", "kueue": {"enabled": True}}, "executor": {"instances": 4}})
    assert labels(driver)["kueue.x-k8s.io/queue-name"] == "team-a"
    # the driver is a workload of its own: a group with its executors would wait for pods it has not created yet
    assert not any(key.startswith("kueue.x-k8s.io/pod-group") for key in {**labels(driver), **annotations(driver)})
    assert labels(template)["kueue.x-k8s.io/queue-name"] == "team-a"
    # their owner is the driver pod, which Kueue manages: without these Kueue lets them through unqueued
    assert labels(template)["kueue.x-k8s.io/managed"] == "true"
    assert annotations(template)["kueue.x-k8s.io/pod-suspending-parent"] == "spark-driver"
    # Kueue before 0.18 reads the group's name from the label, 0.18 and later from the annotation
    assert labels(template)["kueue.x-k8s.io/pod-group-name"] == annotations(template)["kueue.x-k8s.io/pod-group-name"] == "etl-executors"
    assert annotations(template)["kueue.x-k8s.io/pod-group-total-count"] == conf["spark.executor.instances"] == "4"
    assert "schedulerName" not in driver["spec"]  # Kueue gates pods; the default scheduler places them
    assert [o for o in objects if "kueue" in o["apiVersion"]] == []  # Kueue makes its Workloads itself


def test_kueue_without_a_pod_group_admits_each_executor_so_dynamic_allocation_works(tmp_path: Path) -> None:
    values = {"scheduler": {"queue": "team-a", "kueue": {"enabled": True, "executorPodGroup": False}},
              "dynamicAllocation": {"enabled": True, "minExecutors": 1, "maxExecutors": 5}}
    _, template, _, _ = pods(tmp_path, values)
    assert labels(template)["kueue.x-k8s.io/queue-name"] == "team-a"
    assert not any(key.startswith("kueue.x-k8s.io/pod-group") for key in {**labels(template), **annotations(template)})


def test_the_schedulers_metadata_wins_over_the_roles_own(tmp_path: Path) -> None:
    """executor.labels may not move the executors to another queue than the driver's."""
    values = {"scheduler": {"queue": "team-a", "kueue": {"enabled": True}},
              "executor": {"labels": {"kueue.x-k8s.io/queue-name": "elsewhere", "team": "a"},
                           "annotations": {"kueue.x-k8s.io/pod-group-total-count": "99"}}}
    _, template, _, _ = pods(tmp_path, values)
    assert labels(template)["kueue.x-k8s.io/queue-name"] == "team-a" and labels(template)["team"] == "a"
    assert annotations(template)["kueue.x-k8s.io/pod-group-total-count"] == "2"


# --- Volcano, backwards compatible ------------------------------------------------------------------


def test_volcano_podgroup_keeps_its_queue_unless_scheduler_queue_is_set(tmp_path: Path) -> None:
    for values, queue in (({"scheduler": {"name": "volcano"}}, "default"),
                          ({"scheduler": {"name": "volcano"}, "volcano": {"podGroup": {"queue": "legacy"}}}, "legacy"),
                          ({"scheduler": {"name": "volcano", "queue": "team-b"}, "volcano": {"podGroup": {"queue": "legacy"}}}, "team-b")):
        driver, template, objects, _ = pods(tmp_path, values)
        group = next(o for o in objects if o["kind"] == "PodGroup")
        assert group["apiVersion"] == "scheduling.volcano.sh/v1beta1" and group["spec"]["queue"] == queue
        for pod in (driver, template):
            assert annotations(pod)["scheduling.k8s.io/group-name"] == "etl-podgroup"


# --- Kubernetes' own gang scheduling ------------------------------------------------------------------

#: apiVersion -> (kind rendered, the executor template's reference, the Kubernetes versions that serve it)
SHAPES = {
    "scheduling.k8s.io/v1alpha1": ("Workload", {"workloadRef": {"name": "etl-executors", "podGroup": "executors"}}, ["1.35"]),
    "scheduling.k8s.io/v1alpha2": ("PodGroup", {"schedulingGroup": {"podGroupName": "etl-executors"}}, ["1.36"]),
    "scheduling.k8s.io/v1alpha3": ("PodGroup", {"schedulingGroup": {"podGroupName": "etl-executors"}}, ["1.37"]),
    "scheduling.k8s.io/v1beta1": ("PodGroup", {"schedulingGroup": {"podGroupName": "etl-executors"}}, ["1.37"]),
}
KNOWN = ["1.29", "1.34", "1.35", "1.36", "1.37"]


@pytest.mark.parametrize("api_version", sorted(SHAPES))
def test_native_gang_shape_per_api_version(tmp_path: Path, api_version: str) -> None:
    kind, reference, served = SHAPES[api_version]
    driver, template, objects, _ = pods(tmp_path, {"scheduler": {"gang": {"enabled": True, "apiVersion": api_version}},
                                                   "executor": {"instances": 3}, "priorityClassName": "urgent"})
    gang = [o for o in objects if o["apiVersion"].startswith("scheduling.k8s.io/")]
    assert [(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in gang] == [(api_version, kind, "etl-executors")]
    spec = gang[0]["spec"]
    policy = spec["podGroups"][0]["policy"] if kind == "Workload" else spec["schedulingPolicy"]
    assert policy == {"gang": {"minCount": 3}}
    assert {k: template["spec"][k] for k in reference} == reference
    assert not set(reference) & set(driver["spec"])  # the driver is scheduled on its own
    for version in served:
        for obj in (gang[0], template):
            validate_strictly(obj, version)
    # each shape is refused where it is not served: the next and previous minor versions reshaped it
    for version in sorted(set(KNOWN) - set(served)):
        with pytest.raises(Exception):  # noqa: B017 - kubernetes-validate raises one of several error types
            for obj in (gang[0], template):
                kubernetes_validate.validate(obj, version, strict=True)


def test_native_gang_counts_the_executors_spark_starts_with(tmp_path: Path) -> None:
    values = {"scheduler": {"gang": {"enabled": True}}, "executor": {"instances": 1},
              "dynamicAllocation": {"enabled": True, "minExecutors": 3, "maxExecutors": 8}}
    _, _, objects, _ = pods(tmp_path, values)
    assert next(o for o in objects if o["kind"] == "PodGroup")["spec"]["schedulingPolicy"]["gang"]["minCount"] == 3
    values = {"scheduler": {"gang": {"enabled": True}}, "executor": {"instances": 0},
              "dynamicAllocation": {"enabled": True, "minExecutors": 0, "maxExecutors": 8}}
    _, _, objects, _ = pods(tmp_path, values)  # from zero: the first executor Spark asks for
    assert next(o for o in objects if o["kind"] == "PodGroup")["spec"]["schedulingPolicy"]["gang"]["minCount"] == 1


def test_native_gang_off_renders_no_group_and_no_reference(tmp_path: Path) -> None:
    driver, template, objects, _ = pods(tmp_path, {})
    assert not [o for o in objects if o["apiVersion"].startswith("scheduling.")]
    for spec in (driver["spec"], template["spec"]):
        assert "schedulingGroup" not in spec and "workloadRef" not in spec
