"""Two runs of one schedule compute SparkPi side by side on the harness's real kubelet, and never collide.

`sparkhelm run --schedule` (the console script) installs the chart's CronJob on the emulated API
server; the harness's CronJob and Job controllers (tests/harness/controllers.py) start two runs when
the test ticks the clock twice (concurrencyPolicy Allow); the kubelet of tests/harness/podrunner.py
runs each Job's pod, whose Spark driver asks the API server for its executor pod, which the kubelet
runs too. Nothing but `spark.master` is changed from what the chart renders. Proven here:

- each run computes Pi, its driver named after its own pod, its executor named after that pod
  (`<run pod>-exec-1`: the two runs' executors differ), owned by its own driver pod, and given its own
  run's driver address (the pod IP, `SPARK_DRIVER_URL`), which it connects to under the NetworkPolicies;
- ownership goes executor -> driver pod -> Job -> CronJob: deleting one run's Job takes its driver pod
  and executor along (their processes end), while the other run goes on to succeed;
- `sparkhelm list` and `sparkhelm logs` show the schedule and its latest run.
One driver and one executor per run, no UI: four JVMs on two shared cores.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from sparkhelm.spec.naming import AppNames, run_executor_pod
from tests import sparkdriver
from tests.harness.cluster import RESOURCES
from tests.harness.controllers import CRONJOBS, JOBS, BatchControllers
from tests.harness.podrunner import PodRecord
from tests.sparkdriver import APPS_IN_IMAGE, ROOT, SparkCluster

pytestmark = pytest.mark.spark
Obj = dict[str, Any]
APP, NS = "sched-pi", "sh-sched"
PI = re.compile(r"Pi is roughly 3\.1\d*")
T0 = datetime.datetime(2026, 3, 1, 2, 0, tzinfo=datetime.UTC)
VALUES = {
    "app": {"mainApplicationFile": f"local://{APPS_IN_IMAGE}/pi_paths.py", "arguments": ["2", "--hold", "/tmp/release"]},
    "executor": {"instances": 1, "memory": "512m"},
    "driver": {"memory": "512m"},
    "sparkConf": {"spark.ui.enabled": "false"},
    "schedule": {"concurrencyPolicy": "Allow"},
}


@dataclass
class Scheduled:
    """What the module's two runs did."""

    cluster: SparkCluster
    controllers: BatchControllers
    install: subprocess.CompletedProcess[str]
    jobs: list[str]
    drivers: list[PodRecord] = field(default_factory=list)
    executors: list[PodRecord] = field(default_factory=list)
    #: the API objects as they were while both runs computed (before one was deleted)
    objects: dict[str, Obj] = field(default_factory=dict)
    after_delete: dict[str, Any] = field(default_factory=dict)
    cli: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    def describe(self) -> str:
        parts = []
        for record in [*self.drivers, *self.executors]:
            parts += [f"--- {record.name} exit {record.exit_code} {record.waiting} ---", record.log()[-2500:]]
        return "\n".join(parts + self.cluster.kubelet.errors + self.controllers.errors)


def _sparkhelm(cluster: SparkCluster, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.cluster.kubeconfig), "SPARKHELM_ENGINE": "embedded"}
    for unset in ("SPARKHELM_CHART", "HELM_DRIVER", "KUBERNETES_SERVICE_HOST"):
        env.pop(unset, None)
    return subprocess.run([str(sparkdriver.sparkhelm_script()), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def _api_object(cluster: SparkCluster, res: Any, name: str) -> Obj | None:
    async def read() -> Obj | None:
        async with cluster.cluster.emulator._lock:
            found = cluster.cluster.emulator._live(res, NS, name)
            return json.loads(json.dumps(found)) if found is not None else None

    return cluster.cluster.call(read())


def _wait(predicate: Any, timeout: float, what: str, run: Scheduled | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout:.0f}s\n{run.describe() if run else ''}")
        time.sleep(0.2)


def _delete_job(cluster: SparkCluster, name: str) -> None:
    """DELETE a run's Job as kubectl does (propagationPolicy Background): the garbage collector takes the rest."""
    body = json.dumps({"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}).encode()
    request = urllib.request.Request(f"{cluster.cluster.url}/apis/batch/v1/namespaces/{NS}/jobs/{name}", data=body,
                                     method="DELETE", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture(scope="module")
def scheduled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scheduled]:
    home = sparkdriver.require_spark()
    layer = sparkdriver.build_examples_layer(home, tmp_path_factory.mktemp("examples"),
                                             sparkdriver.jar_in_image("scala-pi.yaml"))
    cluster = SparkCluster(tmp_path_factory.mktemp("cluster"), sparkdriver.harness_image(home, layer), volcano=False)
    controllers = BatchControllers(cluster.cluster)
    try:
        cluster.cluster.add_namespace(NS)
        values = tmp_path_factory.mktemp("values") / "values.yaml"
        values.write_text(yaml.safe_dump(VALUES))
        install = _sparkhelm(cluster, "run", "-f", str(values), "--name", APP, "-n", NS, "--schedule", "*/10 * * * *")
        assert install.returncode == 0, install.stderr
        cron = AppNames(APP).cron_job
        jobs = [controllers.tick(NS, cron, T0), controllers.tick(NS, cron, T0 + datetime.timedelta(minutes=10))]
        assert None not in jobs
        run = Scheduled(cluster, controllers, install, [str(j) for j in jobs])
        kubelet = cluster.kubelet

        def records(role: str) -> list[PodRecord]:
            return sorted((r for (ns, _), r in kubelet.records.items() if ns == NS and r.labels.get("spark-role") == role),
                          key=lambda r: r.labels.get("batch.kubernetes.io/job-name", r.name))

        _wait(lambda: len(records("driver")) == 2, 60, "two run pods", run)
        run.drivers = records("driver")
        for driver in run.drivers:  # both computed, and hold their executors
            cluster.wait_for_log(driver, PI.pattern, timeout=240)
        run.executors = sorted((r for r in records("executor")), key=lambda r: r.name)
        run.objects = {name: obj for name in [*(r.name for r in run.drivers), *(r.name for r in run.executors)]
                       if (obj := _api_object(cluster, RESOURCES["Pod"], name)) is not None}
        for job in run.jobs:
            found = _api_object(cluster, JOBS, job)
            assert found is not None
            run.objects[job] = found
        run.objects[cron] = _api_object(cluster, CRONJOBS, cron) or {}

        # delete the first run's Job: its driver pod and its executor go with it; the second run goes on
        first_driver, second_driver = run.drivers
        first_executors = [e for e in run.executors if e.name.startswith(first_driver.name)]
        _delete_job(cluster, run.jobs[0])
        kubelet.wait(NS, first_driver.name, 30)
        for executor in first_executors:
            kubelet.wait(NS, executor.name, 30)
        run.after_delete = {
            "pods": set(cluster.cluster.names("Pod", NS)),
            "jobs": _api_object(cluster, JOBS, run.jobs[0]),
            "second running": second_driver.exit_code is None,
        }
        mount = next(m for m in yaml.safe_load(yaml.safe_dump(run.objects[second_driver.name]))["spec"]["containers"][0]
                     ["volumeMounts"] if m["mountPath"] == "/tmp")
        (second_driver.volumes[mount["name"]] / "release").touch()
        kubelet.wait(NS, second_driver.name, 120)
        _wait(lambda: ((_api_object(cluster, JOBS, run.jobs[1]) or {}).get("status") or {}).get("succeeded") == 1,
              30, "the second Job's success", run)
        run.objects[f"{run.jobs[1]} ended"] = _api_object(cluster, JOBS, run.jobs[1]) or {}
        run.cli["list"] = _sparkhelm(cluster, "list", "-n", NS, "-o", "json")
        run.cli["logs"] = _sparkhelm(cluster, "logs", APP, "-n", NS)
        yield run
    finally:
        controllers.close()
        cluster.close()


def test_both_runs_compute_pi_with_their_own_names(scheduled: Scheduled) -> None:
    run = scheduled
    assert "schedule:   */10 * * * *" in run.install.stdout, run.install.stdout
    first, second = run.drivers
    assert first.name != second.name
    for job, driver in zip(run.jobs, run.drivers, strict=True):
        assert driver.name.startswith(f"{job}-") and len(driver.name) <= 47, driver.name
        assert PI.search(driver.log()), run.describe()
        # the per-run wiring, as the kubelet expanded it for this pod
        assert f"spark.kubernetes.driver.pod.name={driver.name}" in driver.argv
        assert f"spark.kubernetes.executor.podNamePrefix={driver.name}" in driver.argv
        assert f"spark.driver.host={driver.ip}" in driver.argv
    assert [e.name for e in run.executors] == sorted([run_executor_pod(first.name, 1), run_executor_pod(second.name, 1)])
    assert not run.cluster.kubelet.errors and not run.controllers.errors, run.describe()


def test_each_executor_reaches_its_own_runs_driver(scheduled: Scheduled) -> None:
    run = scheduled
    port = 7078
    for driver in run.drivers:
        (executor,) = [e for e in run.executors if e.name == run_executor_pod(driver.name, 1)]
        url = f"spark://CoarseGrainedScheduler@{driver.ip}:{port}"
        assert executor.env["SPARK_DRIVER_URL"] == url
        assert f"Connecting to driver: {url}" in executor.log(), run.describe()
        assert re.search(rf"Registered executor .*\({re.escape(executor.ip)}:\d+\) with ID", driver.log()), run.describe()
        owners = run.objects[executor.name]["metadata"]["ownerReferences"]
        assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [("Pod", driver.name, driver.uid)]
        other = next(d for d in run.drivers if d is not driver)
        assert other.ip not in executor.env["SPARK_DRIVER_URL"]
        assert (executor.name, driver.name, port) in run.cluster.kubelet.attempts()
    assert not run.cluster.kubelet.refused()


def test_ownership_runs_from_executor_to_cronjob(scheduled: Scheduled) -> None:
    run = scheduled
    cron = run.objects[AppNames(APP).cron_job]
    for job, driver in zip(run.jobs, run.drivers, strict=True):
        (owner,) = run.objects[driver.name]["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", job, run.objects[job]["metadata"]["uid"])
        (top,) = run.objects[job]["metadata"]["ownerReferences"]
        assert (top["kind"], top["uid"]) == ("CronJob", cron["metadata"]["uid"])
        assert run.objects[job]["metadata"]["labels"]["app-name"] == APP


def test_deleting_a_runs_job_takes_its_driver_and_executors_the_other_run_succeeds(scheduled: Scheduled) -> None:
    run = scheduled
    first, second = run.drivers
    gone = {first.name, run_executor_pod(first.name, 1)}
    assert run.after_delete["jobs"] is None
    assert not gone & run.after_delete["pods"], run.after_delete
    assert run.after_delete["second running"], run.describe()
    assert first.deleted and run.cluster.kubelet.record(NS, run_executor_pod(first.name, 1)).deleted
    assert second.exit_code == 0, run.describe()
    ended = run.objects[f"{run.jobs[1]} ended"]["status"]
    assert ended["succeeded"] == 1 and ended["conditions"][-1]["type"] == "Complete"


def test_list_and_logs_show_the_schedule_and_its_latest_run(scheduled: Scheduled) -> None:
    run = scheduled
    listed = run.cli["list"]
    assert listed.returncode == 0, listed.stderr
    (app,) = json.loads(listed.stdout)
    assert (app["kind"], app["name"], app["last_run"], app["last_run_phase"]) == ("schedule", APP, run.drivers[1].name, "Succeeded")
    logs = run.cli["logs"]
    assert logs.returncode == 0, logs.stderr
    first_executor, second_executor = (run.cluster.kubelet.record(NS, run_executor_pod(d.name, 1)) for d in run.drivers)
    # the second run's driver log: the executor it registered is its own
    assert PI.search(logs.stdout) and f"({second_executor.ip}:" in logs.stdout, logs.stdout[-2000:]
    assert f"({first_executor.ip}:" not in logs.stdout
