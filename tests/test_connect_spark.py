"""A real Spark Connect server through `sparkhelm connect`, on the harness's real kubelet.

First what the kubelet must do for a server pod, with small Python pods (no JVM, seconds; these run
in the normal suite where the kubelet can run: root, nftables): TCP readiness reported as the Ready
condition, which decides whether a Service publishes the pod; restarts in the same pod after an
exit (restartPolicy Always); a failed startup probe kills the container; the `Killing` event when a
pod's container is stopped.

Then, marked `spark`, one server (one JVM, executors from zero): `sparkhelm connect` (the console
script, as users run it) installs it with a token from a Secret and a NetworkPolicy, waits until
it is Ready and forwards a local port; a PySpark Connect client computes a DataFrame query through
that forward on executors created from the chart's executor template; clients without the token or
with a wrong one are refused; a client pod in the release namespace reaches the server through the
Connect Service while one in another namespace is refused by the NetworkPolicy; once dynamic
allocation has released the executors, `status` says since when the server is idle; Ctrl-C removes
the server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import RunningCluster
from tests.harness.podrunner import PodRecord, PodRunner, spark_image
from tests.sparkdriver import JVM_OPTIONS, ROOT, python_pods, require_spark, sparkhelm_script

Obj = dict[str, Any]


# --- the kubelet, with Python pods -------------------------------------------------------------------


@pytest.fixture
def kubelet(tmp_path: Path) -> Iterator[tuple[RunningCluster, PodRunner]]:
    yield from python_pods(tmp_path, grace_seconds=1.0, probe_period_cap=0.2, backoff_cap=0.5)


#: Counts its runs in its volume; exits 3 on the first `FAILS` runs; then serves on 8000 once go exists there.
SERVER = """
    import os, socket, sys, time
    runs = open("/var/lib/probed/runs", "a+")
    runs.write("run\\n"); runs.flush(); runs.seek(0)
    if len(runs.readlines()) <= int(os.environ["FAILS"]):
        print("crash", flush=True)
        sys.exit(3)
    while not os.path.exists("/var/lib/probed/go"):
        time.sleep(0.05)
    server = socket.create_server((os.environ["POD_IP"], 8000))
    print("listening", flush=True)
    while True:
        connection, _ = server.accept()
        connection.sendall(b"hi")
        connection.close()
"""


def server_pod(name: str, *, fails: int = 0, restart: str = "Always", **probes: Obj) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"restartPolicy": restart, "volumes": [{"name": "data", "emptyDir": {}}],
                     "containers": [{
                         "name": "main", "image": "python:3.11",
                         "command": [sys.executable, "-c", textwrap.dedent(SERVER)],
                         "env": [{"name": "FAILS", "value": str(fails)},
                                 {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
                         "ports": [{"name": "tcp", "containerPort": 8000}],
                         "volumeMounts": [{"name": "data", "mountPath": "/var/lib/probed"}], **probes}]}}


def tcp_probe(**fields: int) -> Obj:
    return {"tcpSocket": {"port": "tcp"}, "periodSeconds": 10, **fields}


def _ready(pod: Obj | None) -> bool:
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _wait(predicate: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


def _connect(address: str, port: int) -> bytes | str:
    import socket

    try:
        with socket.create_connection((address, port), timeout=3) as sock:
            return sock.recv(2)
    except OSError as error:
        return type(error).__name__


def test_tcp_readiness_is_the_ready_condition_and_a_service_publishes_only_ready_pods(
        kubelet: tuple[RunningCluster, PodRunner]) -> None:
    cluster, runner = kubelet
    cluster.seed_many([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "tcp"}]}},
        server_pod("web", readinessProbe=tcp_probe(), startupProbe=tcp_probe(failureThreshold=600)),
    ])
    record = runner.wait_started("default", "web", 20)
    time.sleep(1.0)  # five probe periods: none has passed, nothing listens yet
    pod = cluster.get("Pod", "web")
    assert pod is not None and pod["status"]["phase"] == "Running" and not _ready(pod)
    assert pod["status"]["containerStatuses"][0]["started"] is False  # the startup probe has not passed
    vip = runner.service_ip("default", "web")
    assert _connect(vip, 80) == "ConnectionRefusedError"  # no endpoint: the pod is not Ready
    (record.volumes["data"] / "go").touch()
    _wait(lambda: _ready(cluster.get("Pod", "web")), "the pod turned Ready once its port listened")
    _wait(lambda: _connect(vip, 80) == b"hi", "the Service sent the connection to the Ready pod")
    assert cluster.emulator.forwards[("default", "web", 8000)] == (record.ip, 8000)  # port-forwards reach it


def test_an_exited_container_restarts_in_the_same_pod_with_a_back_off(kubelet: tuple[RunningCluster, PodRunner]) -> None:
    cluster, runner = kubelet
    states: list[str] = []
    cluster.emulator.on_change.append(
        lambda event, res, obj: states.extend(
            next(iter(s.get("state") or {"?": 0})) + (":" + s["state"]["waiting"]["reason"]
                                                       if "waiting" in s.get("state", {}) else "")
            for s in (obj.get("status") or {}).get("containerStatuses") or [])
        if res.plural == "pods" and obj["metadata"]["name"] == "flaky" else None)
    cluster.seed(server_pod("flaky", fails=2, readinessProbe=tcp_probe()))
    record = runner.wait_started("default", "flaky", 20)
    (record.volumes["data"] / "go").touch()
    _wait(lambda: _ready(cluster.get("Pod", "flaky")), "the third run served")
    pod = cluster.get("Pod", "flaky")
    assert pod is not None
    status = pod["status"]["containerStatuses"][0]
    assert (pod["status"]["phase"], pod["status"]["podIP"], status["restartCount"]) == ("Running", record.ip, 2)
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert record.log().splitlines() == ["crash", "crash", "listening"]  # one pod, one log, three runs
    assert "waiting:CrashLoopBackOff" in states  # the second restart waited its back-off
    assert states.index("waiting:CrashLoopBackOff") > states.index("running")
    urllib.request.urlopen(urllib.request.Request(f"{cluster.url}/api/v1/namespaces/default/pods/flaky",
                                                  method="DELETE"), timeout=10).close()
    runner.wait("default", "flaky", 10)
    def events() -> list[tuple[str, str]]:
        return [(e["reason"], e["message"]) for e in (cluster.get("Event", n) for n in cluster.names("Event"))
                if e and e["involvedObject"]["name"] == "flaky"]

    _wait(lambda: ("Killing", "Stopping container main") in events(), "the kubelet recorded that it stopped the container")
    assert events().count(("Started", "Started container main")) == 3  # one per run


def test_a_container_that_fails_its_startup_probe_is_killed(kubelet: tuple[RunningCluster, PodRunner]) -> None:
    cluster, runner = kubelet
    cluster.seed(server_pod("mute", restart="Never", startupProbe=tcp_probe(failureThreshold=3)))
    record = runner.wait("default", "mute", 20)  # it never listens: 3 failed probes, then SIGTERM
    pod = cluster.get("Pod", "mute")
    assert pod is not None
    assert pod["status"]["phase"] == "Failed" and record.exit_code == 128 + signal.SIGTERM
    events = [(cluster.get("Event", name) or {}) for name in cluster.names("Event")]
    assert [e["message"] for e in events if e["reason"] == "Killing"] == [
        "Container main failed startup probe, will be restarted"]


# --- a Spark Connect server ----------------------------------------------------------------------------

NS, OTHER_NS, APP, TOKEN = "team-a", "notebooks", "nb", "t0k3n/with;odd=chars"

#: A PySpark Connect client: each URL once; the sum of 0..999 or the error, as JSON. Three retries, not
#: PySpark's default of at least 10 minutes of them, for a server that cannot be reached.
CLIENT = """
    import json, sys
    from pyspark.sql import SparkSession
    from pyspark.sql.connect.client.retries import DefaultPolicy
    results = {}
    for label, url in json.loads(sys.argv[1]).items():
        try:
            spark = SparkSession.builder.remote(url).create()
            spark.client.set_retry_policies([DefaultPolicy(max_retries=3, max_backoff=1000)])
            results[label] = spark.range(1000).selectExpr("sum(id) AS total").collect()[0]["total"]
            spark.stop()
        except Exception as error:
            results[label] = f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"
    print(json.dumps(results), flush=True)
"""


def client_pod(name: str, namespace: str, url: str) -> Obj:
    """The client in a pod the kubelet runs (the notebook's place in the cluster)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "jupyter"}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "notebook", "image": "quay.io/jupyter/minimal-notebook",
                "command": [sys.executable, "-c", textwrap.dedent(CLIENT), json.dumps({"sum": url})],
                "env": [{"name": "GRPC_DNS_RESOLVER", "value": "native"}]}]}}


def run_client(urls: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(CLIENT), json.dumps(urls)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


class Server:
    """`sparkhelm connect` holding a forward to a real Spark Connect server on the harness's kubelet."""

    def __init__(self, directory: Path) -> None:
        home = require_spark()
        image = spark_image(home)
        image.env["JAVA_TOOL_OPTIONS"] = JVM_OPTIONS
        self.cluster = RunningCluster(directory)
        try:
            self.kubelet = PodRunner(self.cluster, directory / "kubelet", image)
        except BaseException:
            self.cluster.close()
            raise
        self.process: subprocess.Popen[str] | None = None
        self.shown: dict[str, str] = {}
        self.stderr = ""

    def start(self) -> None:
        self.cluster.add_namespace(NS)
        self.cluster.add_namespace(OTHER_NS)
        self.cluster.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "nb-token", "namespace": NS},
                           "data": {"token": base64.b64encode(TOKEN.encode()).decode()}})
        env = {**os.environ, "KUBECONFIG": str(self.cluster.kubeconfig), "SPARKHELM_ENGINE": "embedded",
               "NO_COLOR": "1"}
        for unset in ("SPARKHELM_CHART", "HELM_DRIVER", "KUBERNETES_SERVICE_HOST"):
            env.pop(unset, None)
        argv = [str(sparkhelm_script()), "connect", "--name", APP, "-n", NS, "--port", "0", "--timeout", "4m",
                "--set", "connect.authentication.secretName=nb-token", "--set", "networkPolicy.enabled=true",
                "--set", "connect.idleTimeout=3s", "--set", "dynamicAllocation.maxExecutors=1",
                # an executor holding shuffle files (sum() has an exchange) is released only after this
                "--set", "sparkConf.spark\\.dynamicAllocation\\.shuffleTracking\\.timeout=3s",
                "--set", "executor.memory=512m", "--set", "driver.memory=1g"]
        self.process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None
        while "stop" not in self.shown:
            line = self.process.stdout.readline()
            if not line:
                _, self.stderr = self.process.communicate(timeout=30)
                raise AssertionError(f"sparkhelm connect ended ({self.process.returncode}): {self.stderr}\n"
                                     f"{self.driver_log()}")
            key, _, value = line.partition(":")
            self.shown[key.strip()] = value.strip()

    def driver(self) -> PodRecord:
        return self.kubelet.record(NS, f"{APP}-driver")

    def driver_log(self) -> str:
        try:
            return self.driver().log()[-4000:]
        except KeyError:
            return "(no driver pod ran)"

    def interrupt(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        _, self.stderr = self.process.communicate(timeout=60)
        return self.process.returncode

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        try:
            self.kubelet.close()
        finally:
            self.cluster.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("connect"))
    try:
        running.start()
        yield running
    finally:
        running.close()


def _sparkhelm(server: Server, *args: str) -> str:
    env = {**os.environ, "KUBECONFIG": str(server.cluster.kubeconfig), "SPARKHELM_ENGINE": "embedded"}
    done = subprocess.run([str(sparkhelm_script()), *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.spark
def test_a_pyspark_client_computes_through_the_forward_on_executors_from_the_template(server: Server) -> None:
    url = server.shown["url"]
    assert url.startswith("sc://localhost:") and url.endswith("/;token=t0k3n%2Fwith%3Bodd%3Dchars")
    driver = server.driver()
    assert driver.env["SPARK_CONNECT_AUTHENTICATE_TOKEN"] == TOKEN  # from the Secret, by the kubelet
    pod = server.cluster.get("Pod", f"{APP}-driver", NS)
    assert pod is not None and _ready(pod)
    port = url.split(":")[2].split("/")[0]
    results = run_client({"token": url, "no token": f"sc://localhost:{port}",
                          "wrong token": f"sc://localhost:{port}/;token=guess"})
    assert results["token"] == 499500, server.driver_log()
    for refused in ("no token", "wrong token"):
        assert str(results[refused]).startswith("SparkConnectGrpcException") and "UNAUTHENTICATED" in str(
            results[refused]).upper(), results[refused]

    # the executors: pods the server created from the chart's executor template, owned by the driver pod
    template = yaml.safe_load(server.cluster.get("ConfigMap", f"{APP}-cm", NS)["data"]["executor-pod-template.yaml"])  # type: ignore[index]
    executors = [r for (ns, _), r in server.kubelet.records.items() if ns == NS and r.labels.get("spark-role") == "executor"]
    assert executors and all(r.name.startswith(f"{APP}-exec-") for r in executors)
    for record in executors:
        for key, value in template["metadata"]["labels"].items():
            assert record.labels.get(key) == value, (record.name, key)
        assert record.labels["app-name"] == APP
    created = [json.loads(r.body) for r in list(server.cluster.emulator._requests)
               if r.method.value == "POST" and str(r.url.path).endswith(f"/namespaces/{NS}/pods")
               and r._raw_request.remote == driver.ip]
    assert [c["metadata"]["name"] for c in created] == [r.name for r in sorted(executors, key=lambda r: r.name)]
    for body in created:
        assert body["metadata"]["ownerReferences"][0]["uid"] == driver.uid
        assert body["spec"]["securityContext"] == template["spec"]["securityContext"]


@pytest.mark.spark
def test_in_the_cluster_the_network_policy_admits_the_namespace_and_refuses_others(server: Server) -> None:
    """The chart's default connect.allowFrom: pods of the release namespace. Through the Connect Service."""
    service = f"sc://{APP}-connect-svc.{NS}.svc:15002"
    assert server.shown["in cluster"] == f"{service} (token: Secret nb-token, key token)"
    # over the plaintext Service PySpark sends no token=; a parameter it does not know goes as a gRPC header
    url = f"{service}/;authorization=Bearer%20{urllib.parse.quote(TOKEN, safe='')}"
    server.cluster.seed_many([client_pod("neighbour", NS, url), client_pod("stranger", OTHER_NS, url)])
    neighbour = server.kubelet.wait(NS, "neighbour", 180)
    stranger = server.kubelet.wait(OTHER_NS, "stranger", 180)
    assert json.loads(neighbour.log().strip().splitlines()[-1]) == {"sum": 499500}, neighbour.log()[-3000:]
    failure = json.loads(stranger.log().strip().splitlines()[-1])["sum"]
    assert "UNAVAILABLE" in failure.upper() or "refused" in failure.lower(), failure
    assert ("stranger", f"{APP}-driver", 15002) in server.kubelet.refused()
    assert ("neighbour", f"{APP}-driver", 15002) not in server.kubelet.refused()


@pytest.mark.spark
def test_idle_once_released_then_ctrl_c_removes_the_server(server: Server) -> None:
    def released() -> bool:
        return not any(r.exit_code is None and r.labels.get("spark-role") == "executor"
                       for (ns, _), r in server.kubelet.records.items() if ns == NS)

    _wait(released, "dynamic allocation released the idle executors (idle and shuffle timeouts 3s)", timeout=120)

    def executor_events() -> list[Obj]:
        return [e for e in (server.cluster.get("Event", n, NS) for n in server.cluster.names("Event", NS))
                if e and e["involvedObject"]["name"].startswith(f"{APP}-exec-")]

    for _ in range(10):  # the kubelet may still be recording an executor's end: read status between two equal reads
        events = executor_events()
        state = json.loads(_sparkhelm(server, "status", APP, "-n", NS, "-o", "json"))
        if executor_events() == events:
            break
        time.sleep(1)
    assert {e["reason"] for e in events} >= {"Started"}, events  # the kubelet's record outlives the executor pods
    last = max(e["lastTimestamp"] for e in events)
    assert state["connect"]["executors"] == 0 and state["connect"]["idle_since"] == last
    assert state["connect"]["idle_since"] > state["started"]  # the executors' end, not the server's start
    listed = _sparkhelm(server, "list", "-n", NS).splitlines()
    assert listed[0].split()[-2:] == ["CONNECT", "ACTIVITY"] and " idle " in listed[1] + " "

    assert server.interrupt() == 0, server.stderr
    assert f"deleted {APP}" in server.stderr
    assert server.kubelet.wait(NS, f"{APP}-driver", 30).deleted
    assert server.cluster.names("Pod", NS) == ["neighbour"]  # the client pod is not the server's
