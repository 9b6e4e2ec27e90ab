"""Spark computes end to end from the chart's manifests: driver and executors run by the harness's kubelet.

The example applications run side by side on one emulated cluster (tests/sparkdriver.py): the
chart renders each app, the kubelet of tests/harness/podrunner.py runs the rendered driver pod as
a local process tree, Spark's driver creates its executor pods through the API, and the kubelet
runs those too, each pod on its own loopback IP, with cluster DNS and the NetworkPolicies in
force. The values files are used as rendered; the test values replace the application file and
arguments only, plus two documented choices: executors reach the driver through the headless
Service (see test_executors_reach_the_driver_through_the_service), and the prod shape runs 2
executors (not 4) to fit two cores. The cluster has Volcano (tests/sparkdriver.SparkCluster), so
prod runs with its scheduler, PodGroup, priority class, affinities and tolerations as rendered.

pyspark-pi is submitted with the real `sparkhelm run --wait --logs` console script; scala-pi runs
the chart's host-mode UI Ingress, prod its path-mode Ingress, Volcano, a priority class and node
affinity, and exercises every data path the NetworkPolicies allow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import sparkdriver
from tests.harness import dns
from tests.sparkdriver import App, AppRun, SparkCluster

pytestmark = pytest.mark.spark

HOLD = ["--hold", "/tmp/release"]  # the driver's /tmp is its scratch emptyDir: the test releases it there
PI = re.compile(r"Pi is roughly 3\.1\d*")


def read_ui_then_release(cluster: SparkCluster, run: AppRun) -> None:
    """Once the app computed (and, with --data-paths, used every path), read its UI, then let it stop."""
    driver = cluster.kubelet.wait_started(run.namespace, f"{run.name}-driver", 180)
    done = r"Data paths: " if "--data-paths" in run.app.values["app"]["arguments"] else PI.pattern
    try:
        cluster.wait_for_log(driver, done, timeout=240)
        cluster.read_ui(run)
    finally:
        cluster.release(run)


APPS = sparkdriver.register([
    App("it-pyspark-pi", "sh-pyspark-pi", ["pyspark-pi.yaml"], sparkdriver.through_the_service({}), cli=[], cost=4),
    App("it-fails", "sh-fails", ["pyspark-pi.yaml"],
        {"app": {"mainApplicationFile": f"local://{sparkdriver.APPS_IN_IMAGE}/fails.py", "arguments": []}}, cli=[]),
    App("it-scala-pi", "sh-scala-pi", ["ui-host-ingress.yaml", "scala-pi.yaml"],
        sparkdriver.through_the_service({"app": {"arguments": ["100", *HOLD]}}), during=read_ui_then_release, cost=2),
    App("it-prod", "sh-prod", ["prod.yaml"],
        sparkdriver.through_the_service({
            "app": {"mainApplicationFile": f"local://{sparkdriver.APPS_IN_IMAGE}/pi_paths.py",
                    "arguments": ["4", "--data-paths", *HOLD]},
            "executor": {"instances": 2},
        }), during=read_ui_then_release, cost=4),
])
COMPUTING = ["it-pyspark-pi", "it-scala-pi", "it-prod"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AppRun]:
    """Every app of the session's Spark suite, run once side by side (JVM starts are what costs time)."""
    return sparkdriver.suite_runs(tmp_path_factory)


@pytest.mark.parametrize("name", COMPUTING)
def test_spark_pi_computes_with_two_executors(name: str, runs: dict[str, AppRun]) -> None:
    run = runs[name]
    assert run.returncode == 0, run.describe()
    assert PI.search(run.log), run.describe()
    # two executors ran, registered with the driver, and were shut down by it
    assert [e.name for e in run.executors] == [f"{name}-exec-1", f"{name}-exec-2"], run.describe()
    for executor in run.executors:
        assert "Driver commanded a shutdown" in executor.log(), run.describe()
        assert re.search(rf"Registered executor .*\({re.escape(executor.ip)}:\d+\) with ID", run.log), run.describe()
        assert re.search(r"Finished task .* on " + re.escape(executor.ip), run.log), run.describe()
    # the rendered driver address was used as rendered
    assert run.conf["spark.driver.host"] == f"{name}-driver-svc.{run.namespace}.svc"
    # the driver pod's own requests reached the API server: it read its pod, created and watched executors
    verbs = {(verb, path.split("?")[0].rsplit("/", 1)[-1]) for _, path, verb, _ in run.requests}
    assert {("get", f"{name}-driver"), ("create", "pods"), ("watch", "pods")} <= verbs, sorted(verbs)
    problems = sparkdriver.wiring_problems(run)
    assert not problems, "\n".join(problems) + "\n" + run.describe()


@pytest.mark.parametrize("name", COMPUTING)
def test_executors_reach_the_driver_through_the_service(name: str, runs: dict[str, AppRun]) -> None:
    """The path executors really take: the Service name in their driver URL, resolved by cluster DNS.

    Spark 4.3 defaults spark.kubernetes.executor.useDriverPodIP=true, and then executors dial the
    driver's pod IP and the headless Service plays no part (test_spark_breakage.py shows a broken
    Service going unnoticed). The apps here set it to false, as the chart should: executors then
    dial spark.driver.host, the same on Spark 3.x images (which always do), so the Service, its
    selector and its DNS name are what connects them.
    """
    run = runs[name]
    service = run.conf["spark.driver.host"]
    driver = run.driver
    assert driver is not None
    for executor in run.executors:
        assert executor.env["SPARK_DRIVER_URL"] == f"spark://CoarseGrainedScheduler@{service}:{run.conf['spark.driver.port']}"
        assert f"Connecting to driver: spark://CoarseGrainedScheduler@{service}:" in executor.log()
        # what the executor's JVM resolves that name to: the driver pod, through the Service's selector
        assert dns.lookup(dns.parse_hosts(executor.hosts()), service) == [driver.ip]
        # and the connection it opened, seen on the pod network (source = the executor's pod IP)
        assert (executor.name, driver.name, int(run.conf["spark.driver.port"])) in run.attempts
    # the task's broadcast comes from the driver's block manager (to one executor at least: the
    # other may get it from its peer)
    block_manager = int(run.conf["spark.driver.blockManager.port"])
    assert any((e.name, driver.name, block_manager) in run.attempts for e in run.executors), run.attempts
    assert not run.refused


def test_sparkhelm_run_shows_sparks_log_and_exits_0(runs: dict[str, AppRun]) -> None:
    run = runs["it-pyspark-pi"]
    assert run.cli is not None
    assert run.cli.returncode == 0, run.cli.stderr + run.describe()
    assert PI.search(run.cli.stdout)
    assert "SparkContext: Running Spark version " + sparkdriver.chart_app_version() in run.cli.stdout
    assert "Registered executor" in run.cli.stdout
    assert f"driver {run.name}-driver: Succeeded" in run.cli.stderr


def test_sparkhelm_run_of_a_failing_app_exits_1_with_the_reason(runs: dict[str, AppRun]) -> None:
    run = runs["it-fails"]
    assert run.cli is not None
    assert run.cli.returncode == 1, run.cli.stdout + run.cli.stderr
    reason = "FileNotFoundError: input /data/input.csv does not exist: nothing to process"
    assert reason in run.cli.stdout  # Spark's own log, streamed
    assert f"{run.name} failed (exit code 1)" in run.cli.stderr
    assert run.returncode == 1


@pytest.mark.parametrize("name", ["it-scala-pi", "it-prod"])
def test_ui_through_the_ui_service(name: str, runs: dict[str, AppRun]) -> None:
    """The UI Service routes to the driver's UI; its redirect and links carry the Ingress's path (path mode only)."""
    run = runs[name]
    problems = sparkdriver.ui_problems(run)
    assert not problems, "\n".join(problems)


def test_prod_runs_as_rendered_on_volcano_with_priority_and_placement(runs: dict[str, AppRun]) -> None:
    run = runs["it-prod"]
    pods = run.created("pods")
    assert len(pods) == 2
    for pod in pods:
        spec = pod["spec"]
        assert spec["schedulerName"] == "volcano"
        assert spec["priorityClassName"] == "routine"
        assert pod["metadata"]["annotations"]["scheduling.k8s.io/group-name"] == f"{run.name}-podgroup"
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["values"] == ["spark-executor", "spark-executor-spot"]
        assert {"key": "dedicated", "operator": "Equal", "value": "spark", "effect": "NoSchedule"} in spec["tolerations"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["serviceAccountName"] == f"{run.name}-executor"
        container = spec["containers"][0]
        assert container["image"] == f"apache/spark:{sparkdriver.chart_app_version()}"
        assert container["resources"]["requests"] == {"cpu": "2", "memory": "5120Mi"}
    status, location, _ = run.ui["/"]
    assert (status, location) == (302, f"https://spark.example.com/{run.name}/jobs/")


def test_prod_uses_every_path_the_network_policies_allow(runs: dict[str, AppRun]) -> None:
    """Shuffle reads between executors and the driver's fetch of large results, under the chart's policies."""
    run = runs["it-prod"]
    assert "Data paths: shuffled 10 keys, fetched 2 results" in run.log, run.describe()
    block_manager = int(run.conf["spark.blockManager.port"])
    first, second = (e.name for e in run.executors)
    assert (f"{run.name}-driver", first, block_manager) in run.attempts, run.attempts
    assert (f"{run.name}-driver", second, block_manager) in run.attempts, run.attempts
    assert {(first, second, block_manager), (second, first, block_manager)} & set(run.attempts), run.attempts
    assert not run.refused


def test_pyspark_under_test_is_the_chart_default_spark_minor() -> None:
    """One place declares the Spark version: the chart's appVersion (the default image tag; CI installs it)."""
    home = sparkdriver.require_spark()
    import pyspark

    wanted = sparkdriver.chart_app_version().split(".")[:2]
    assert pyspark.__version__.split(".")[:2] == wanted
    assert home == Path(pyspark.__file__).resolve().parent


def test_every_app_ended_and_the_kubelet_had_no_fault(runs: dict[str, AppRun]) -> None:
    """Each app of the suite ended within its time, and the harness's kubelet never failed a pod itself."""
    errors = {name: run.errors for name, run in runs.items() if run.errors}
    assert not errors, errors
