"""The harness's real kubelet (tests/harness/podrunner.py) and its cluster DNS and pod network.

The Spark suites (test_spark_driver.py, test_spark_breakage.py) trust this kubelet to run pods as
a cluster does, so it is tested here on its own, with small Python pods (no JVM, a few seconds
in all): the manifest's command, environment, volumes and working directory; the phases, exit
code, termination message and logs it reports; deletion and garbage collection killing the
pod's processes; processes dying with the harness; DNS from Services; NetworkPolicies and
ClusterIP proxying between pod IPs. The translations (DNS records, policy port sets) are also
checked without running anything, the policies against tests/netpol.py's evaluator.
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

from tests import netpol
from tests.conftest import VALUES_DIR, render_objects
from tests.harness import RunningCluster, dns, netfilter
from tests.harness.podrunner import Image, PodRunner, entrypoint_argv, expand, plan_filesystem
from tests.sparkdriver import python_pods

Obj = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent


# --- without running anything -----------------------------------------------------------------


def _pod(name: str, namespace: str = "apps", ip: str = "", phase: str = "Running", ready: bool = True,
         **labels: str) -> Obj:
    status: Obj = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}, "status": status}


def _service(name: str, namespace: str = "apps", *, headless: bool = True, not_ready: bool = True,
             **selector: str) -> Obj:
    spec: Obj = {"selector": selector, "publishNotReadyAddresses": not_ready}
    if headless:
        spec["clusterIP"] = "None"
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_a_headless_service_resolves_to_the_ips_of_the_pods_it_selects() -> None:
    pods = [
        _pod("driver", ip="127.0.9.2", app="a", role="driver"),
        _pod("exec", ip="127.0.9.3", app="a", role="executor"),
        _pod("done", ip="127.0.9.4", phase="Succeeded", app="a", role="driver"),
        _pod("starting", ip="127.0.9.5", ready=False, app="b", role="driver"),
        _pod("other-ns", namespace="elsewhere", ip="127.0.9.6", app="a", role="driver"),
    ]
    services = [
        _service("a-svc", app="a", role="driver"),
        _service("b-svc", app="b", role="driver"),
        _service("b-ready-only", not_ready=False, app="b", role="driver"),
        _service("typo-svc", app="a-typo", role="driver"),
        _service("far-svc", namespace="elsewhere", app="a"),
        _service("ui", headless=False, app="a", role="driver"),
    ]
    entries = dns.records(pods[1], pods, services, {("apps", "ui"): "127.0.9.128"})
    assert dns.lookup(entries, "a-svc") == ["127.0.9.2"]  # not the terminated driver, not other namespaces
    for name in ("a-svc.apps", "a-svc.apps.svc", "a-svc.apps.svc.cluster.local"):
        assert dns.lookup(entries, name) == ["127.0.9.2"]
    assert dns.lookup(entries, "b-svc.apps.svc") == ["127.0.9.5"]  # publishNotReadyAddresses
    assert dns.lookup(entries, "b-ready-only.apps.svc") == []
    assert dns.lookup(entries, "typo-svc.apps.svc") == []
    assert dns.lookup(entries, "far-svc") == []  # the short name is the pod's own namespace only
    assert dns.lookup(entries, "far-svc.elsewhere.svc") == ["127.0.9.6"]
    assert dns.lookup(entries, "ui.apps.svc") == ["127.0.9.128"]  # a ClusterIP Service: its virtual IP
    assert dns.lookup(entries, "exec") == ["127.0.9.3"] and dns.lookup(entries, "localhost") == ["127.0.0.1"]
    assert dns.parse_hosts(dns.hosts_file(entries)) == entries


def _rendered_policies(tmp_path: Path) -> list[Obj]:
    objects, _, _ = render_objects(tmp_path, {}, name="pi", namespace="jobs", files=[VALUES_DIR / "prod.yaml"])
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert len(policies) == 2
    return policies


def test_policy_port_sets_agree_with_the_flow_evaluator_on_the_charts_policies(tmp_path: Path) -> None:
    """What the kubelet enforces between pod IPs is what tests/netpol.py says a network plugin does."""
    policies = _rendered_policies(tmp_path)
    endpoints = [
        ("jobs", {"app-name": "pi", "spark-role": "driver"}),
        ("jobs", {"app-name": "pi", "spark-role": "executor"}),
        ("jobs", {"app-name": "pi", "spark-role": "executor", "spark-exec-id": "2"}),
        ("jobs", {"app-name": "other", "spark-role": "executor"}),
        ("jobs", {"app": "unrelated"}),
        ("ingress-nginx", {"app": "controller"}),
    ]
    pods = [netfilter.PodAddress(namespace=ns, name=f"p{i}", ip=f"127.0.9.{i + 2}", labels=labels)
            for i, (ns, labels) in enumerate(endpoints)]
    checked = 0
    for source in pods:
        for destination in pods:
            if source is destination:
                continue
            ports = netfilter.pair_ports(policies, source, destination, {})
            for port in (53, 443, 4040, 6443, 7078, 7079, 8080):
                enforced = ports is None or any(start <= port <= end for start, end in ports)
                expected = netpol.allowed(policies, netpol.Endpoint(source.namespace, source.labels),
                                          netpol.Endpoint(destination.namespace, destination.labels), port)
                assert enforced == expected, (source.labels, destination.labels, port, ports)
                checked += 1
    assert checked == 30 * 7


def test_policy_ports_given_by_name_are_the_destinations_container_ports() -> None:
    policy = {"metadata": {"namespace": "ns", "name": "p"}, "spec": {
        "podSelector": {"matchLabels": {"role": "server"}}, "policyTypes": ["Ingress"],
        "ingress": [{"ports": [{"port": "http"}, {"port": 9000, "endPort": 9002}]}]}}
    server = netfilter.PodAddress("ns", "s", "127.0.9.2", {"role": "server"}, {"http": 8080})
    client = netfilter.PodAddress("ns", "c", "127.0.9.3", {"role": "client"})
    assert netfilter.pair_ports([policy], client, server, {}) == frozenset({(8080, 8080), (9000, 9002)})
    assert netfilter.pair_ports([policy], server, client, {}) is None  # the client is not isolated
    assert netfilter.pair_ports([policy], server, server, {}) is None  # a pod always reaches itself


def test_the_executor_entrypoint_is_the_images() -> None:
    env = {"JAVA_HOME": "/jdk", "SPARK_HOME": "/opt/spark", "SPARK_CONF_DIR": "/opt/spark/conf",
           "SPARK_EXECUTOR_MEMORY": "512m", "SPARK_DRIVER_URL": "spark://CoarseGrainedScheduler@d.ns.svc:7078",
           "SPARK_EXECUTOR_ID": "3", "SPARK_EXECUTOR_CORES": "1", "SPARK_APPLICATION_ID": "spark-1",
           "SPARK_EXECUTOR_POD_IP": "127.0.9.4", "SPARK_RESOURCE_PROFILE_ID": "0", "SPARK_EXECUTOR_POD_NAME": "a-exec-3",
           "SPARK_JAVA_OPT_2": "-Dtwo", "SPARK_JAVA_OPT_10": "-Dten", "SPARK_JAVA_OPT_0": "-Dzero"}
    argv = entrypoint_argv(["executor"], env, "/opt/spark/work-dir")
    assert argv[:6] == ["/jdk/bin/java", "-Dzero", "-Dten", "-Dtwo", "-Xms512m", "-Xmx512m"]  # names sorted as text
    assert argv[6:9] == ["-cp", "/opt/spark/conf::/opt/spark/jars/*:/opt/spark/work-dir:",
                         "org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend"]
    assert argv[9:] == ["--driver-url", "spark://CoarseGrainedScheduler@d.ns.svc:7078", "--executor-id", "3",
                        "--cores", "1", "--app-id", "spark-1", "--hostname", "127.0.9.4",
                        "--resourceProfileId", "0", "--podName", "a-exec-3"]
    assert entrypoint_argv(["/opt/spark/bin/spark-submit", "app.py"], env, "/") == ["/opt/spark/bin/spark-submit", "app.py"]


def test_variable_references_expand_like_kubernetes() -> None:
    env = {"A": "alpha", "B.c": "dotted"}
    assert expand("$(A)-$(B.c)-$(MISSING)-$$(A)-$$", env) == "alpha-dotted-$(MISSING)-$(A)-$"


def test_the_container_filesystem_never_writes_to_the_host(tmp_path: Path) -> None:
    image = Image(layers={"/opt/spark": [tmp_path]}, env={}, workdir="/opt/spark/work-dir", entrypoint="")
    volumes = [("/etc/spark/conf", tmp_path, True), ("/tmp", tmp_path, False), ("/var/data/spark-1", tmp_path, False)]
    steps = plan_filesystem(image, volumes, tmp_path, tmp_path / "pod", True, "/opt/spark/work-dir")
    overlays = [s.target for s in steps if s.kind == "overlay"]
    assert overlays == ["/opt", "/opt/spark", "/etc", "/var"]  # new directories go into private overlays
    mkdirs = [s.target for s in steps if s.kind == "mkdir"]
    assert mkdirs == ["/opt/spark", "/etc/spark", "/etc/spark/conf", "/var/data", "/var/data/spark-1",
                      "/opt/spark/work-dir", "/etc/cluster-dns"]
    assert ("bind", "/tmp") in {(s.kind, s.target) for s in steps}  # an existing directory is mounted over
    read_only = {s.target for s in steps if s.kind == "readonly"}
    assert read_only == {"/etc/spark/conf", "/etc/cluster-dns", "/opt", "/opt/spark", "/etc", "/var"}
    assert [s for s in steps if s.kind == "symlink"][0].sources == ("/etc/cluster-dns/hosts",)


def test_an_object_created_for_an_owner_that_is_gone_is_garbage_collected(tmp_path: Path) -> None:
    """A driver being deleted may still create an executor pod: the garbage collector removes it too."""
    cluster = RunningCluster(tmp_path)
    try:
        body = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": "late-exec-1", "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "gone",
                                                        "uid": "uid-of-a-deleted-driver"}]},
            "spec": {"containers": [{"name": "executor", "image": "spark"}]}}).encode()
        request = urllib.request.Request(f"{cluster.url}/api/v1/namespaces/default/pods", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
        cluster.wait_for(lambda: cluster.get("Pod", "late-exec-1") is None)
    finally:
        cluster.close()


# --- running pods -----------------------------------------------------------------------------


@pytest.fixture
def kubelet(tmp_path: Path) -> Iterator[tuple[RunningCluster, PodRunner]]:
    """An emulated API server whose pods run here (Python pods: the image is this machine's Python)."""
    yield from python_pods(tmp_path, grace_seconds=1.0)


def python_pod(name: str, script: str, *, namespace: str = "default", labels: dict[str, str] | None = None,
               **container: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"restartPolicy": "Never", "volumes": container.pop("volumes", []),
                     "containers": [{"name": "main", "image": "python:3.11",
                                     "command": [sys.executable, "-c", textwrap.dedent(script)], **container}]}}


def api(cluster: RunningCluster, path: str, method: str = "GET") -> str:
    request = urllib.request.Request(cluster.url + path, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def test_a_pod_runs_as_its_manifest_says(kubelet: tuple[RunningCluster, PodRunner]) -> None:
    cluster, runner = kubelet
    phases: list[str] = []
    cluster.emulator.on_change.append(
        lambda event, res, obj: phases.append(f"{event} {(obj.get('status') or {}).get('phase')}")
        if obj["metadata"]["name"] == "app" and res.plural == "pods" else None)
    script = """
        import json, os, socket
        files = {p: open(p).read() for p in ("/etc/app/conf/app.conf", "/etc/sec/token")}
        try:
            open("/etc/app/new", "w")
            writable = True
        except OSError:
            writable = False
        open("out", "w").write("written")
        print(json.dumps({"env": {k: os.environ[k] for k in ("A", "B", "C", "IP", "NAME", "TOKEN")},
                          "files": files, "cwd": os.getcwd(), "host": socket.gethostname(),
                          "config_writable": writable}))
    """
    cluster.seed_many([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
         "data": {"app.conf": "x=1\n", "unused": "-"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": "default"},
         "data": {"token": base64.b64encode(b"s3cret").decode()}},
        python_pod("app", script, workingDir="/var/lib/app-data", env=[
            {"name": "A", "value": "alpha"}, {"name": "B", "value": "$(A)-beta"}, {"name": "C", "value": "$$(A)"},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "token"}}},
        ], volumeMounts=[{"name": "cfg", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "sec", "mountPath": "/etc/sec"}, {"name": "data", "mountPath": "/var/lib/app-data"}],
            volumes=[{"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "app.conf", "path": "conf/app.conf"}]}},
                     {"name": "sec", "secret": {"secretName": "sec"}}, {"name": "data", "emptyDir": {}}]),
    ])
    record = runner.wait("default", "app", 30)
    assert record.exit_code == 0, record.log()
    seen = json.loads(api(cluster, "/api/v1/namespaces/default/pods/app/log"))  # the log, served by the API
    assert seen["env"] == {"A": "alpha", "B": "alpha-beta", "C": "$(A)", "IP": record.ip, "NAME": "app",
                           "TOKEN": "s3cret"}
    assert seen["files"] == {"/etc/app/conf/app.conf": "x=1\n", "/etc/sec/token": "s3cret"}
    assert (seen["cwd"], seen["host"], seen["config_writable"]) == ("/var/lib/app-data", "app", False)
    assert (record.volumes["data"] / "out").read_text() == "written"
    pod = cluster.get("Pod", "app")
    assert pod is not None
    status = pod["status"]
    assert status["phase"] == "Succeeded" and status["podIP"] == record.ip and record.ip.startswith("127.0.")
    assert status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert phases[0] == "ADDED None" and phases[1:] == ["MODIFIED Pending", "MODIFIED Running", "MODIFIED Succeeded"]
    assert not Path("/etc/app").exists() and not Path("/var/lib/app-data").exists()  # nothing leaked onto the host


def test_a_failed_container_reports_its_exit_code_and_log_tail(kubelet: tuple[RunningCluster, PodRunner]) -> None:
    cluster, runner = kubelet
    script = """
        import sys
        for i in range(100):
            print(f"line {i}")
        sys.stdout.flush()
        print("fatal: the input is missing", file=sys.stderr)
        sys.exit(3)
    """
    cluster.seed_many([python_pod("fails", script, terminationMessagePolicy="FallbackToLogsOnError"),
                       python_pod("fails-quietly", "import sys; print('bye'); sys.exit(4)")])
    runner.wait("default", "fails", 30)
    runner.wait("default", "fails-quietly", 30)
    pod, quiet = cluster.get("Pod", "fails"), cluster.get("Pod", "fails-quietly")
    assert pod is not None and quiet is not None
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (pod["status"]["phase"], terminated["exitCode"], terminated["reason"]) == ("Failed", 3, "Error")
    message = terminated["message"]
    assert message.endswith("line 99\nfatal: the input is missing\n") and "line 20\n" not in message
    assert "message" not in quiet["status"]["containerStatuses"][0]["state"]["terminated"]  # policy File
    assert cluster.emulator.logs[("default", "fails-quietly")] == "bye\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait_gone(pids: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes {pids} still alive"
        time.sleep(0.05)


SLEEPER = """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    print("pids", child.pid, flush=True)
    time.sleep(120)
"""


def _child_pid(runner: PodRunner, name: str) -> int:
    deadline = time.monotonic() + 20
    while "pids" not in runner.record("default", name).log():
        assert time.monotonic() < deadline, "the pod never started"
        time.sleep(0.05)
    return int(runner.record("default", name).log().split()[1])


def test_deleting_a_pod_or_its_owner_kills_all_its_processes(kubelet: tuple[RunningCluster, PodRunner]) -> None:
    """Even a child in its own session: everything in the pod's cgroup goes."""
    cluster, runner = kubelet
    cluster.seed_many([python_pod("owner", SLEEPER), python_pod("single", SLEEPER)])
    runner.wait_started("default", "owner", 20)
    owner_uid = cluster.get("Pod", "owner")["metadata"]["uid"]  # type: ignore[index]
    dependent = python_pod("dependent", SLEEPER)
    dependent["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod", "name": "owner", "uid": owner_uid}]
    cluster.seed(dependent)
    pids = {name: [runner.wait_started("default", name, 20).pid or 0, _child_pid(runner, name)]
            for name in ("owner", "single", "dependent")}
    assert all(_alive(pid) for group in pids.values() for pid in group)

    api(cluster, "/api/v1/namespaces/default/pods/single", method="DELETE")
    _wait_gone(pids["single"])
    assert all(_alive(pid) for pid in pids["owner"] + pids["dependent"])
    api(cluster, "/api/v1/namespaces/default/pods/owner", method="DELETE")  # the garbage collector takes the dependent
    _wait_gone(pids["owner"] + pids["dependent"])
    for name in ("single", "owner", "dependent"):
        record = runner.wait("default", name, 10)
        assert record.deleted and record.cgroup is not None and not record.cgroup.exists()
    assert cluster.names("Pod") == []


def test_pod_processes_die_with_the_harness_and_its_leftovers_are_removed(tmp_path: Path,
                                                                           kubelet: tuple[RunningCluster, PodRunner]) -> None:
    """A harness killed with SIGKILL (no teardown): its pods die too (PR_SET_PDEATHSIG); the next kubelet cleans up."""
    harness = f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(ROOT)!r})
        from tests.harness import RunningCluster
        from tests.harness.podrunner import Image, PodRunner
        from tests.test_spark_kubelet import SLEEPER, python_pod, _child_pid
        cluster = RunningCluster(Path({str(tmp_path / "doomed")!r}))
        runner = PodRunner(cluster, Path({str(tmp_path / "doomed" / "kubelet")!r}),
                           Image(layers={{}}, env={{"PATH": "/usr/bin:/bin"}}, workdir="/", entrypoint=""))
        cluster.seed(python_pod("orphan", SLEEPER))
        record = runner.wait_started("default", "orphan", 20)
        print(record.pid, _child_pid(runner, "orphan"), runner.table.name, runner.cgroup_root, flush=True)
        time.sleep(120)
    """
    (tmp_path / "doomed").mkdir()
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(harness)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    pod_pid, child_pid, table, cgroup = process.stdout.readline().split()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _wait_gone([int(pod_pid)])  # the container's main process: killed by the kernel with its parent
    netfilter.remove_stale()  # what every new kubelet does first: the dead harness's table and cgroups go
    _wait_gone([int(child_pid)])
    assert table not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert not Path(cgroup).exists()


SERVER = """
    import os, socket
    server = socket.create_server((os.environ["POD_IP"], 8000))
    print("listening", flush=True)
    while True:
        connection, peer = server.accept()
        print("peer", peer[0], flush=True)
        connection.sendall(b"hello")
        connection.close()
"""
CLIENT = """
    import json, socket
    results = {"resolved": socket.gethostbyname("web")}
    for host, port in (("web", 8000), ("web-vip.default.svc.cluster.local", 80)):
        try:
            with socket.create_connection((host, port), timeout=5) as connection:
                results[f"{host}:{port}"] = connection.recv(5).decode()
        except OSError as error:
            results[f"{host}:{port}"] = type(error).__name__
    print(json.dumps(results))
"""


def test_services_resolve_and_network_policies_hold_between_pods(kubelet: tuple[RunningCluster, PodRunner]) -> None:
    cluster, runner = kubelet
    pod_ip = [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]
    cluster.seed_many([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 8000}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-vip", "namespace": "default"},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                  "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "friend"}}}],
                               "ports": [{"port": "http"}]}]}},
        python_pod("web", SERVER, labels={"app": "web"}, env=pod_ip,
                   ports=[{"name": "http", "containerPort": 8000}]),
    ])
    web = runner.wait_started("default", "web", 20)
    deadline = time.monotonic() + 20
    while "listening" not in web.log():
        assert time.monotonic() < deadline and not web.done.is_set(), web.log()
        time.sleep(0.05)
    cluster.seed_many([python_pod("friend", CLIENT, labels={"role": "friend"}),
                       python_pod("stranger", CLIENT, labels={"role": "stranger"})])
    friend, stranger = (runner.wait("default", name, 30) for name in ("friend", "stranger"))
    assert json.loads(friend.log()) == {"resolved": web.ip, "web:8000": "hello",
                                        "web-vip.default.svc.cluster.local:80": "hello"}
    assert json.loads(stranger.log()) == {"resolved": web.ip, "web:8000": "ConnectionRefusedError",
                                          "web-vip.default.svc.cluster.local:80": "ConnectionRefusedError"}
    assert web.log().count(f"peer {friend.ip}") == 2  # the server sees the client pod's own address
    assert f"peer {stranger.ip}" not in web.log()
    assert runner.refused() == [("stranger", "web", 8000)]
    assert ("friend", "web", 8000) in runner.attempts()
