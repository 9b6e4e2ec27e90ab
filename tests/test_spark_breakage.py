"""Broken wiring fails the way a cluster fails: each app below has one thing broken on purpose.

The apps run side by side on one emulated cluster with the harness's kubelet (tests/sparkdriver.py),
from the chart's rendered objects with one change each (a Service selector or port, a Spark key,
a NetworkPolicy) or one event (the driver pod deleted mid-job). Each test names what broke and
asserts what Spark and the cluster do: the executor's exception, the refused connection, the
driver's exit code, the garbage-collected executors, or, where a cluster would not notice the
mistake, which check catches it. Two apps are evidence rather than breakage: Spark 4.3's default
driver address ignores the Service, and a wrong headless-Service port changes nothing.

To keep eight apps within two cores, each asks for one executor (three for the one that tests
garbage collection) and no UI; apps that fail at executor start set
`spark.executor.maxNumFailures=0` (the driver gives up at the first failed executor instead of
retrying up to its default limit: the failure is the same, only sooner), and the one that loses
task results does not retry them. Executors reach the driver through the Service (see
test_spark_driver.py) unless a test says otherwise.
"""

from __future__ import annotations

import http.client
import os
import re
from typing import Any

import pytest

from tests import sparkdriver
from tests.harness import dns
from tests.invariants import check_application
from tests.sparkdriver import App, AppRun, SparkCluster

pytestmark = pytest.mark.spark
Obj = dict[str, Any]
#: stop at the first failed executor, before a replacement is asked for (allocation rounds 10 s apart)
GIVE_UP_AT_FIRST_FAILURE = {"spark.executor.maxNumFailures": "0", "spark.kubernetes.allocation.batch.delay": "10s"}
#: abort the job at the first task whose result cannot be fetched (no block-fetch retries, no task retries)
GIVE_UP_AT_FIRST_LOST_RESULT = {"spark.task.maxFailures": "1", "spark.shuffle.io.maxRetries": "0"}


def _values(arguments: list[str], *, conf: dict[str, str] | None = None, ui: bool = False, **extra: Any) -> Obj:
    values: Obj = {"app": {"arguments": arguments}, "executor": {"instances": 1}, **extra}
    values["sparkConf"] = {**({} if ui else {"spark.ui.enabled": "false"}), **(conf or {})}
    return sparkdriver.through_the_service(values)


def _named(objects: list[Obj], kind: str, suffix: str) -> Obj:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"].endswith(suffix))


def wrong_selector(objects: list[Obj]) -> None:
    """The driver Service selects an app-name no pod has (a typo)."""
    service = _named(objects, "Service", "-driver-svc")
    service["spec"]["selector"]["app-name"] += "-typo"


def pods_ip_default(objects: list[Obj]) -> None:
    """Spark 4.3's default: executors dial the driver's pod IP; plus the wrong selector."""
    sparkdriver.set_conf(objects, sparkdriver.DRIVER_POD_IP, "true")
    wrong_selector(objects)


def missing_service(objects: list[Obj]) -> None:
    """spark.driver.host names a Service that does not exist."""
    host = sparkdriver.spark_conf(objects)["spark.driver.host"]
    sparkdriver.set_conf(objects, "spark.driver.host", host.replace("-driver-svc.", "-gone-svc.", 1))


def wrong_ports_and_prefix(objects: list[Obj]) -> None:
    """Wrong Service ports (the headless driver Service's, the UI Service's target), and the executor name prefix."""
    for port in _named(objects, "Service", "-driver-svc")["spec"]["ports"]:
        port["port"] = port["targetPort"] = port["port"] + 10000
    _named(objects, "Service", "-ui-svc")["spec"]["ports"][0]["targetPort"] += 1
    sparkdriver.set_conf(objects, "spark.kubernetes.executor.podNamePrefix", "someone-else")


def executors_not_admitted_by_driver(objects: list[Obj]) -> None:
    """The driver's NetworkPolicy admits pods labelled spark-role=executors (a typo) instead of its executors."""
    policy = _named(objects, "NetworkPolicy", "-driver-netpol")
    policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["spark-role"] = "executors"


def driver_not_admitted_by_executors(objects: list[Obj]) -> None:
    """The executors' NetworkPolicy admits the other executors only, not the driver."""
    policy = _named(objects, "NetworkPolicy", "-exec-netpol")
    peers = policy["spec"]["ingress"][0]["from"]
    policy["spec"]["ingress"][0]["from"] = [p for p in peers if p["podSelector"]["matchLabels"]["spark-role"] != "driver"]


def no_template(objects: list[Obj]) -> None:
    """spark.kubernetes.executor.podTemplateFile dropped: executors lose the template's labels and security."""
    sparkdriver.set_conf(objects, "spark.kubernetes.executor.podTemplateFile", None)


def _get(host: str, port: int) -> str:
    """The status of GET / at host:port, or the name of the error."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/")
        return str(connection.getresponse().status)
    except OSError as error:
        return type(error).__name__
    finally:
        connection.close()


def probe_ui_then_release(cluster: SparkCluster, run: AppRun) -> None:
    """Once the app computed, GET its UI through the UI Service and from the driver pod itself, then release it."""
    driver = cluster.kubelet.wait_started(run.namespace, f"{run.name}-driver", 180)
    service = _named(run.objects, "Service", "-ui-svc")
    try:
        cluster.wait_for_log(driver, r"Pi is roughly", timeout=240)  # the app holds until released
        run.notes["through the UI Service"] = _get(
            cluster.kubelet.service_ip(run.namespace, service["metadata"]["name"]), service["spec"]["ports"][0]["port"])
        run.notes["from the driver pod"] = _get(driver.ip, int(run.conf["spark.ui.port"]))
    finally:
        cluster.release(run)


def kill_driver_mid_job(cluster: SparkCluster, run: AppRun) -> None:
    """Once its executors registered and tasks finish, delete the driver pod (as `kubectl delete pod` would)."""
    driver = cluster.kubelet.wait_started(run.namespace, f"{run.name}-driver", 180)
    executors = sparkdriver.expected_executors(run.conf)
    cluster.wait_for_log(driver, r"Registered executor", timeout=240, count=executors)
    cluster.wait_for_log(driver, r"Finished task \S+ in stage 0\.0", timeout=120, count=executors)
    run.notes["executors_at_kill"] = {r.name: r for (ns, _), r in cluster.kubelet.records.items()
                                      if ns == run.namespace and r.labels.get("spark-role") == "executor"}
    cluster.delete_pod(run.namespace, f"{run.name}-driver")


APPS = sparkdriver.register([
    App("br-selector", "sh-br-selector", ["scala-pi.yaml"], _values(["4"], conf=GIVE_UP_AT_FIRST_FAILURE),
        mutate=wrong_selector),
    App("br-pod-ip", "sh-br-pod-ip", ["scala-pi.yaml"], _values(["4"]), mutate=pods_ip_default),
    App("br-no-service", "sh-br-no-service", ["scala-pi.yaml"], _values(["4"], conf=GIVE_UP_AT_FIRST_FAILURE),
        mutate=missing_service),
    App("br-ports", "sh-br-ports", ["scala-pi.yaml"], _values(["4", "--hold", "/tmp/release"], ui=True),
        mutate=wrong_ports_and_prefix, during=probe_ui_then_release),
    App("br-netpol-in", "sh-br-netpol-in", ["scala-pi.yaml"], _values(["4"], conf=GIVE_UP_AT_FIRST_FAILURE),
        mutate=executors_not_admitted_by_driver),
    App("br-netpol-out", "sh-br-netpol-out", ["scala-pi.yaml"],
        _values(["4", "--data-paths"], conf=GIVE_UP_AT_FIRST_LOST_RESULT), mutate=driver_not_admitted_by_executors),
    App("br-no-template", "sh-br-no-template", ["scala-pi.yaml"], _values(["4"], conf=GIVE_UP_AT_FIRST_FAILURE),
        mutate=no_template),
    App("br-killed", "sh-br-killed", ["scala-pi.yaml"],
        _values(["100000"], executor={"instances": 3},
                dynamicAllocation={"enabled": True, "minExecutors": 1, "maxExecutors": 3}),
        during=kill_driver_mid_job, cost=3),
])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AppRun]:
    """Every app of the session's Spark suite, run once side by side (see tests/sparkdriver.register)."""
    return sparkdriver.suite_runs(tmp_path_factory)


def _executor_failed_with(run: AppRun, cause: str) -> None:
    """The driver gave up because its executors died of `cause` (a regex over their logs).

    The first executor dies of it; one Spark asked for meanwhile may die of it too, or be stopped
    (143) when the driver gives up. None ever registers.
    """
    assert run.returncode not in (0, None), run.describe()
    assert "Max number of executor failures (0) reached" in run.log, run.describe()
    assert "Registered executor" not in run.log, run.describe()
    first = run.executors[0] if run.executors else None
    assert first is not None and first.name == f"{run.name}-exec-1", run.describe()
    assert first.exit_code == 1 and re.search(cause, first.log()), run.describe()
    for executor in run.executors[1:]:
        assert executor.exit_code == 143 or re.search(cause, executor.log()), run.describe()


def test_a_service_selecting_no_pod_leaves_the_driver_name_unresolved(runs: dict[str, AppRun]) -> None:
    run = runs["br-selector"]
    host = run.conf["spark.driver.host"]
    _executor_failed_with(run, rf"UnknownHostException: {re.escape(host)}")
    for executor in run.executors:
        assert dns.lookup(dns.parse_hosts(executor.hosts()), host) == []
    assert run.attempts == []  # nobody could dial anybody


def test_with_sparks_default_executors_bypass_the_service(runs: dict[str, AppRun]) -> None:
    """Evidence for the chart's setting: under useDriverPodIP=true the same broken Service goes unnoticed."""
    run = runs["br-pod-ip"]
    assert run.returncode == 0, run.describe()
    assert "Pi is roughly 3.1" in run.log
    assert "because spark.kubernetes.executor.useDriverPodIP is true" in run.log
    assert run.driver is not None
    for executor in run.executors:
        assert executor.env["SPARK_DRIVER_URL"] == f"spark://CoarseGrainedScheduler@{run.driver.ip}:7078"
        assert dns.lookup(dns.parse_hosts(executor.hosts()), run.conf["spark.driver.host"]) == []


def test_a_driver_host_naming_a_missing_service_is_unresolvable(runs: dict[str, AppRun]) -> None:
    run = runs["br-no-service"]
    host = run.conf["spark.driver.host"]
    assert host.startswith("br-no-service-gone-svc.")
    _executor_failed_with(run, rf"UnknownHostException: {re.escape(host)}")


def test_a_wrong_headless_service_port_is_caught_only_by_the_wiring_checks(runs: dict[str, AppRun]) -> None:
    """A headless Service does not proxy: DNS gives the pod's IP and executors dial the pod's own port.

    ("For such Services a cluster IP is not allocated, kube-proxy does not handle these Services,
    and there is no load balancing or proxying done by the platform for them", Kubernetes docs.)
    So a cluster runs the job, as here, and the static wiring invariant (tests/invariants.py) is what catches it.
    """
    run = runs["br-ports"]
    assert run.returncode == 0, run.describe()
    assert "Pi is roughly 3.1" in run.log
    assert ("someone-else-exec-1", f"{run.name}-driver", 7078) in run.attempts  # the pod's port, not the Service's
    with pytest.raises(AssertionError, match=r"spark.driver.port=7078 is not a port \(and targetPort\) of the headless Service"):
        check_application(run.objects, app_name=run.name, namespace=run.namespace, values=run.values)


def test_a_wrong_ui_service_target_port_leaves_the_ui_unreachable(runs: dict[str, AppRun]) -> None:
    """The UI Service is proxied (ClusterIP): a wrong targetPort breaks the Ingress's route to the UI."""
    run = runs["br-ports"]
    assert run.notes["from the driver pod"] == "302"  # the UI is up, on its port
    assert run.notes["through the UI Service"] == "ConnectionRefusedError"


def test_a_wrong_executor_name_prefix_is_caught_by_the_wiring_checks(runs: dict[str, AppRun]) -> None:
    """Spark's own requests show the broken key: executors named after another app."""
    run = runs["br-ports"]
    assert [e.name for e in run.executors] == ["someone-else-exec-1"]
    problems = sparkdriver.wiring_problems(run)
    assert any("expected 1 named br-ports-exec-N" in p for p in problems), problems


def test_a_driver_policy_not_admitting_executors_refuses_their_connection(runs: dict[str, AppRun]) -> None:
    run = runs["br-netpol-in"]
    driver_port = int(run.conf["spark.driver.port"])
    _executor_failed_with(run, rf"Connection refused: {re.escape(run.conf['spark.driver.host'])}/[\d.]+:{driver_port}")
    assert (f"{run.name}-exec-1", f"{run.name}-driver", driver_port) in run.refused


def test_an_executor_policy_not_admitting_the_driver_loses_task_results(runs: dict[str, AppRun]) -> None:
    """Results above spark.task.maxDirectResultSize stay on the executors: the driver cannot fetch them."""
    run = runs["br-netpol-out"]
    assert run.returncode not in (0, None), run.describe()
    assert "Pi is roughly 3.1" in run.log  # executors registered and computed (they reach the driver)
    assert "TaskResultLost (result lost from block manager)" in run.log, run.describe()
    assert "Data paths:" not in run.log
    block_manager = int(run.conf["spark.blockManager.port"])
    refused = {(s, d, p) for s, d, p in run.refused if s == f"{run.name}-driver"}
    assert refused and all(p == block_manager for _, _, p in refused), run.refused


def test_executors_without_the_template_lose_labels_and_the_policy_refuses_them(runs: dict[str, AppRun]) -> None:
    run = runs["br-no-template"]
    problems = sparkdriver.wiring_problems(run)
    assert any("label app-name=" in p for p in problems), problems
    assert any("spec.securityContext" in p for p in problems), problems
    _executor_failed_with(run, r"Connection refused")
    for executor in run.executors:
        assert "spark-role" in executor.labels and "app-name" not in executor.labels
    assert (f"{run.name}-exec-1", f"{run.name}-driver", int(run.conf["spark.driver.port"])) in run.refused


def test_a_driver_killed_mid_job_takes_its_executors_with_it(runs: dict[str, AppRun]) -> None:
    """Dynamic allocation asked for 3 executors; deleting the driver pod garbage-collects them and their processes."""
    run = runs["br-killed"]
    at_kill = run.notes.get("executors_at_kill", {})
    assert sorted(at_kill) == ["br-killed-exec-1", "br-killed-exec-2", "br-killed-exec-3"], run.describe()
    assert run.driver is not None and run.driver.deleted
    assert "Pi is roughly" not in run.log  # it was killed mid-job
    for executor in at_kill.values():
        assert executor.deleted, f"{executor.name} was not garbage-collected"
        assert executor.done.is_set() and executor.exit_code is not None
        assert executor.pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(executor.pid, 0)
        assert executor.cgroup is not None and not executor.cgroup.exists()  # nothing of the pod is left
    # Spark asked for what the chart describes (3 initial executors of dynamic allocation, as templated)
    problems = [p for p in sparkdriver.wiring_problems(run)
                if not p.startswith(("the driver exited", "Spark logged an error"))]
    assert not problems, problems
