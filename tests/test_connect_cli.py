"""`sparkhelm connect`, `api.connect` and the Connect columns of `list`/`status`, against the API emulator.

The simulated kubelet plays a Spark Connect driver: Running but not Ready until its readiness
probe passes (`DriverScript.ready_after`), or a container that keeps exiting (CrashLoop). The
port-forward the CLI opens goes through the emulator's portforward endpoint to a local stand-in
for the gRPC server (an echo server), so the bytes that come back prove the forward reaches the
driver pod's gRPC port. The real Spark Connect server is in tests/test_connect_spark.py.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparkhelm import api
from sparkhelm.errors import NotFoundError, UserError
from sparkhelm.kube.apps import AppSummary, ConnectInfo, connect_activity
from tests.conftest import ROOT, VALUES_DIR, Cli, write_values
from tests.harness import DriverScript, RunningCluster

Obj = dict[str, Any]
NS = "spark"
PI = str(VALUES_DIR / "pyspark-pi.yaml")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def one_line_error(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("sparkhelm: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[-1]


def fields(stdout: str) -> dict[str, str]:
    """`key: value` lines of the CLI's output."""
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in stdout.splitlines()) if v}


def serving(name: str, **script: Any) -> DriverScript:
    """A Connect driver: Running for ever, Ready a moment after it starts (its readiness probe), no executors."""
    return DriverScript(**{"outcome": "Running", "ready_after": 0.2, "executors": 0, "log": [], **script})


def writes(cluster: RunningCluster) -> list[tuple[str, str]]:
    return [(m, p) for m, p in cluster.requests() if m in WRITES and "selfsubject" not in p]


class _Echo(socketserver.BaseRequestHandler):
    """What stands in for the gRPC server: it answers `grpc:` + what it received."""

    def handle(self) -> None:
        data = self.request.recv(1024)
        self.request.sendall(b"grpc:" + data)


@pytest.fixture
def grpc_server() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def through(port: int, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        return sock.recv(1024)


def forward_to(cluster: RunningCluster, app: str, target: int, port: int = 15002) -> None:
    cluster.emulator.forwards[(NS, f"{app}-driver", port)] = ("127.0.0.1", target)


# --- --detach: start, wait until Ready, say how to reach it -----------------------------------------


def test_detach_installs_a_connect_server_waits_for_ready_and_says_how_to_reach_it(cluster: RunningCluster,
                                                                                     cli: Cli) -> None:
    cluster.kubelet.scripts["nb"] = serving("nb")
    result = cli("connect", "-f", PI, "--name", "nb", "-n", NS, "--detach")
    assert result.exit_code == 0, result.stderr
    assert fields(result.stdout) == {
        "app": "nb", "namespace": NS, "in cluster": "sc://nb-connect-svc.spark.svc:15002",
        "from here": "sparkhelm connect --name nb -n spark --kube-context emulator",
        "stop": "sparkhelm connect --stop --name nb -n spark --kube-context emulator",
    }
    assert "nb serves: its pod is Ready" in result.stderr
    pod = cluster.get("Pod", "nb-driver", NS)
    assert pod is not None
    container = pod["spec"]["containers"][0]
    # connect.enabled=true reached the chart: the driver runs the server, not pi.py, and has the gRPC port
    assert "org.apache.spark.sql.connect.service.SparkConnectServer" in container["args"]
    assert not any(arg.endswith("pi.py") for arg in container["args"])
    assert {"name": "spark-connect", "containerPort": 15002, "protocol": "TCP"} in container["ports"]
    assert cluster.get("Service", "nb-connect-svc", NS) is not None


def test_a_server_that_never_gets_ready_is_not_reported_as_serving(cluster: RunningCluster, cli: Cli) -> None:
    """Running is not serving: only the Ready condition (the TCP probe on the gRPC port) ends the wait."""
    cluster.kubelet.scripts["nb-slow"] = serving("nb-slow", ready_after=None)
    error = one_line_error(cli("connect", "--name", "nb-slow", "-n", NS, "--detach", "--timeout", "1s"), 1)
    assert error.startswith("sparkhelm: error: nb-slow is still Running after 1s")
    assert cluster.get("Pod", "nb-slow-driver", NS) is not None  # --detach: it stays, as the message says
    assert "app:" not in cli("connect", "--name", "nb-slow", "-n", NS, "--detach", "--timeout", "1s").stdout


def test_without_a_name_the_server_is_named_connect_and_a_suffix(cluster: RunningCluster, cli: Cli) -> None:
    """Not after the chart's default application file (pi.py), which a server never runs; app.name still names it."""
    cluster.kubelet.default = serving("any")
    for args, base in (((), "connect-"), (("--set", "app.name=Team Notebooks"), "team-notebooks-")):
        result = cli("connect", "-n", NS, "--detach", *args)
        assert result.exit_code == 0, result.stderr
        name = fields(result.stdout)["app"]
        assert name.startswith(base) and len(name) == len(base) + 10
        assert cluster.get("Pod", f"{name}-driver", NS) is not None


def test_a_running_server_is_reused_never_reinstalled(cluster: RunningCluster, cli: Cli, tmp_path: Path) -> None:
    cluster.kubelet.scripts["nb"] = serving("nb")
    assert cli("connect", "--name", "nb", "-n", NS, "--detach").exit_code == 0
    before = len(writes(cluster))
    other = write_values(tmp_path, {"executor": {"memory": "8g"}})
    again = cli("connect", "nb", "-n", NS, "--detach", "-f", other)  # APP given as in the chart's NOTES
    assert again.exit_code == 0, again.stderr
    assert len(writes(cluster)) == before  # nothing installed, upgraded or deleted
    assert "installed" not in again.stderr
    assert "sparkhelm: warning: nb runs already: the values given (-f, --set) are not applied to it" in again.stderr


def test_a_name_that_is_a_batch_app_is_refused(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["pi-batch"] = DriverScript(outcome="Running")
    assert cli("run", "-f", PI, "--name", "pi-batch", "-n", NS).exit_code == 0
    cluster.wait_for(lambda: (cluster.get("Pod", "pi-batch-driver", NS) or {}).get("status", {}).get("phase") == "Running")
    before = len(writes(cluster))
    error = one_line_error(cli("connect", "--name", "pi-batch", "-n", NS, "--detach"), 2)
    assert "--name pi-batch: the app pi-batch in namespace spark is a batch application, not a Spark Connect" in error
    error = one_line_error(cli("connect", "--stop", "--name", "pi-batch", "-n", NS), 2)
    assert "is a batch application, not a Spark Connect server; delete it with 'sparkhelm delete pi-batch" in error
    assert len(writes(cluster)) == before


def test_bad_input_is_one_line_exit_2_and_reaches_no_cluster(cluster: RunningCluster, cli: Cli, tmp_path: Path) -> None:
    bad = write_values(tmp_path, {"driver": {"memory": "lots"}})
    cases = [
        (("--stop",), "connect --stop: name the server to remove with --name APP"),
        (("--stop", "--name", "nb", "-f", PI, "--port", "1"), "connect --stop removes a server: drop -f, --port"),
        (("--detach", "--port", "15002"), "--port is the local end of the forward, which --detach does not open"),
        (("--port", "70000"), "--port 70000: a port is a number from 1 to 65535"),
        (("--timeout", "soon"), "--timeout 'soon' is not a duration"),
        (("nb", "--name", "other"), "APP 'nb' and --name 'other' differ"),
        (("--name", "Not_A_Name", "--detach"), "--name 'Not_A_Name' is not a valid app name"),
        (("-f", str(bad), "--detach"), "driver.memory"),
        (("--port", "x"), "argument --port: invalid int value: 'x'"),
    ]
    for args, expected in cases:
        assert expected in one_line_error(cli("connect", "-n", NS, *args), 2), args
    assert cluster.requests() == []


def test_a_busy_local_port_fails_before_anything_is_installed(cluster: RunningCluster, cli: Cli) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        error = one_line_error(cli("connect", "--name", "nb", "-n", NS, "--port", str(port)), 2)
    assert f"--port {port}: cannot listen on it" in error and "pick another or 0" in error
    assert writes(cluster) == []


# --- a server that will not serve ---------------------------------------------------------------------


def test_a_server_that_cannot_start_ends_the_wait_with_the_reason_and_is_removed(cluster: RunningCluster,
                                                                                 cli: Cli) -> None:
    cluster.kubelet.scripts["nb-cfg"] = DriverScript(
        outcome="Waiting", waiting=("CreateContainerConfigError", 'secret "nb-token" not found'))
    error = one_line_error(cli("connect", "--name", "nb-cfg", "-n", NS, "--port", "0",
                               "--set", "connect.authentication.secretName=nb-token"), 1)
    assert ("the Spark Connect server nb-cfg cannot start (CreateContainerConfigError: secret \"nb-token\" not found); "
            "it was removed") in error
    assert cluster.names("Pod", NS) == [] and cluster.names("ConfigMap", NS) == []


def test_with_detach_a_server_that_cannot_start_stays_and_the_message_says_how_to_remove_it(
        cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["nb-img"] = DriverScript(outcome="Waiting")
    error = one_line_error(cli("connect", "--name", "nb-img", "-n", NS, "--detach"), 1)
    assert "nb-img cannot start (ImagePullBackOff: Back-off pulling image" in error
    assert error.endswith("it stays installed: remove it with 'sparkhelm connect --stop --name nb-img -n spark "
                          "--kube-context emulator'")
    assert cluster.get("Pod", "nb-img-driver", NS) is not None


def test_a_server_that_keeps_exiting_ends_the_wait_with_its_last_failure(cluster: RunningCluster, cli: Cli) -> None:
    message = ("25/11/21 10:00:01 INFO SparkContext: Running Spark\n"
               "java.net.BindException: Address already in use\n\tat sun.nio.ch.Net.bind(Native Method)\n")
    cluster.kubelet.scripts["nb-crash"] = DriverScript(outcome="CrashLoop", exit_code=1, message=message, run_for=0.05)
    error = one_line_error(cli("connect", "--name", "nb-crash", "-n", NS, "--detach"), 1)
    assert ("the Spark Connect server nb-crash keeps exiting (restarted 2 times, last exit code 1): "
            "java.net.BindException: Address already in use") in error


# --- the forward, until Ctrl-C -------------------------------------------------------------------------


def _start(cluster: RunningCluster, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """`sparkhelm connect ...` as the user runs it; returns the process and its output up to the pyspark line."""
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "SPARKHELM_ENGINE": "embedded", "NO_COLOR": "1"}
    for unset in ("SPARKHELM_CHART", "HELM_DRIVER", "KUBERNETES_SERVICE_HOST"):
        env.pop(unset, None)
    script = Path(sys.executable).parent / "sparkhelm"
    process = subprocess.Popen([str(script), "connect", *args], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    shown: dict[str, str] = {}
    deadline = time.monotonic() + 60
    while "stop" not in shown:
        line = process.stdout.readline()
        if not line:
            _, err = process.communicate(timeout=10)
            raise AssertionError(f"connect ended early ({process.returncode}): {err}")
        shown.update(fields(line))
        assert time.monotonic() < deadline
    return process, shown


def _interrupt(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return process.returncode, err


def test_the_forward_reaches_the_grpc_port_and_ctrl_c_removes_the_server_it_started(
        cluster: RunningCluster, grpc_server: int) -> None:
    cluster.kubelet.scripts["nb"] = serving("nb")
    forward_to(cluster, "nb", grpc_server)
    process, shown = _start(cluster, "--name", "nb", "-n", NS, "--port", "0")
    try:
        url = urllib.parse.urlsplit(shown["url"])
        assert (url.scheme, url.hostname) == ("sc", "localhost") and shown["url"] == f"sc://localhost:{url.port}"
        assert shown["pyspark"] == (f'from pyspark.sql import SparkSession; spark = SparkSession.builder.remote('
                                    f'"sc://localhost:{url.port}").getOrCreate()')
        assert shown["in cluster"] == "sc://nb-connect-svc.spark.svc:15002"
        assert url.port is not None
        assert through(url.port, b"hello") == b"grpc:hello"
        assert through(url.port, b"again") == b"grpc:again"  # each client connection: a port-forward of its own
    finally:
        code, err = _interrupt(process)
    assert code == 0, err
    assert "Ctrl-C ends it and the server is removed" in err and "deleted nb" in err
    forwards = [p for m, p in cluster.requests() if "/portforward" in p]
    assert len(forwards) == 2 and all(p.startswith(f"/api/v1/namespaces/{NS}/pods/nb-driver/portforward?ports=15002")
                                      for p in forwards)
    assert cluster.names("Pod", NS) == [] and cluster.names("Service", NS) == []


def test_ctrl_c_leaves_a_server_it_found_running(cluster: RunningCluster, cli: Cli, grpc_server: int) -> None:
    cluster.kubelet.scripts["nb"] = serving("nb")
    assert cli("connect", "--name", "nb", "-n", NS, "--detach").exit_code == 0
    forward_to(cluster, "nb", grpc_server)
    process, shown = _start(cluster, "--name", "nb", "-n", NS, "--port", "0")
    try:
        port = urllib.parse.urlsplit(shown["url"]).port
        assert port is not None and through(port) == b"grpc:ping"
    finally:
        code, err = _interrupt(process)
    assert code == 0, err
    assert "stopped forwarding; nb keeps running" in err
    assert cluster.get("Pod", "nb-driver", NS) is not None
    result = cli("connect", "--stop", "--name", "nb", "-n", NS)
    assert (result.exit_code, result.stdout) == (0, "deleted nb\n")
    assert cluster.names("Pod", NS) == []
    assert "no app nb in namespace spark" in one_line_error(cli("connect", "--stop", "--name", "nb", "-n", NS), 1)


# --- a token ------------------------------------------------------------------------------------------------


def _secret(cluster: RunningCluster, name: str, token: str) -> None:
    cluster.seed({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
                  "data": {"token": base64.b64encode(token.encode()).decode()}})


def test_a_servers_token_goes_into_the_local_url_percent_encoded(cluster: RunningCluster, grpc_server: int) -> None:
    _secret(cluster, "nb-token", "s3cret;=/+")
    cluster.kubelet.scripts["nb-tok"] = serving("nb-tok")
    forward_to(cluster, "nb-tok", grpc_server)
    inputs = api.Inputs(name="nb-tok", sets=["connect.authentication.secretName=nb-token"])
    with api.connect(inputs, kube=api.KubeTarget(namespace=NS), engine="embedded", notice=lambda _: None) as session:
        assert session.url == f"sc://localhost:{session.local_port}/;token=s3cret%3B%3D%2F%2B"
        assert session.server.token_source == "Secret nb-token, key token"
        status = api.status("nb-tok", kube=api.KubeTarget(namespace=NS))
        assert status.app.connect is not None
        assert (status.app.connect.token_secret, status.app.connect.token_key) == ("nb-token", "token")
    assert cluster.names("Pod", NS) == []  # the session started it: leaving the block removed it


def test_an_unreadable_token_leaves_a_placeholder_and_says_where_it_is(cluster: RunningCluster, cli: Cli) -> None:
    _secret(cluster, "nb-token", "s3cret")
    cluster.emulator.denied.add(("get", "secrets", NS))
    cluster.kubelet.scripts["nb-tok"] = serving("nb-tok")
    process, shown = _start(cluster, "--name", "nb-tok", "-n", NS, "--port", "0",
                            "--set", "connect.authentication.secretName=nb-token")
    cluster.emulator.denied.clear()  # Helm reads its release record (a Secret) to uninstall at Ctrl-C
    code, err = _interrupt(process)
    assert code == 0, err
    assert shown["url"].endswith("/;token=<token>")
    assert shown["in cluster"] == "sc://nb-tok-connect-svc.spark.svc:15002 (token: Secret nb-token, key token)"
    assert ("sparkhelm: warning: the server requires a token and the Secret nb-token, key token cannot be read here"
            in err)


# --- the Python API -------------------------------------------------------------------------------------------


def test_api_connect_to_a_running_server_closes_the_forward_and_keeps_the_server(cluster: RunningCluster, cli: Cli,
                                                                                  grpc_server: int) -> None:
    cluster.kubelet.scripts["nb"] = serving("nb")
    assert cli("connect", "--name", "nb", "-n", NS, "--detach").exit_code == 0
    forward_to(cluster, "nb", grpc_server)
    kube = api.KubeTarget(namespace=NS)
    with api.connect("nb", kube=kube, notice=lambda _: None) as session:
        assert not session.created and session.in_cluster_url == "sc://nb-connect-svc.spark.svc:15002"
        assert through(session.local_port) == b"grpc:ping"
    with pytest.raises(OSError):
        through(session.local_port)  # the forward is closed
    assert cluster.get("Pod", "nb-driver", NS) is not None
    session = api.connect("nb", kube=kube, notice=lambda _: None)
    removal = session.stop()
    assert removal.done and cluster.names("Pod", NS) == []
    with pytest.raises(NotFoundError, match="no Spark Connect server nb in namespace spark"):
        api.connect("nb", kube=kube, notice=lambda _: None)
    with pytest.raises(UserError, match="not a valid app name"):
        api.connect("Bad_Name", kube=kube)


# --- list and status --------------------------------------------------------------------------------------------


def _executor(app: str, index: int, phase: str = "Running", **meta: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{app}-exec-{index}", "namespace": NS, **meta,
                         "labels": {"app.kubernetes.io/name": "spark-client-app", "app-name": app,
                                    "spark-role": "executor"}},
            "spec": {"containers": [{"name": "spark-kubernetes-executor", "image": "spark"}]},
            "status": {"phase": phase}}


def _killing(pod: str, when: str, *, field: str = "lastTimestamp") -> Obj:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{pod}.1", "namespace": NS},
            "involvedObject": {"kind": "Pod", "name": pod, "namespace": NS}, "reason": "Killing",
            "message": "Stopping container spark-kubernetes-executor", "type": "Normal", field: when}


def _ago(seconds: float) -> str:
    moment = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_list_shows_connect_servers_busy_or_idle_in_six_requests(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.default = serving("any")
    for name in ("nb-busy", "nb-idle"):
        assert cli("connect", "--name", name, "-n", NS, "--detach").exit_code == 0
    cluster.kubelet.scripts["pi"] = DriverScript(outcome="Running", executors=0)
    assert cli("run", "-f", PI, "--name", "pi", "-n", NS).exit_code == 0
    last_used, earlier, started = _ago(300), _ago(900), _ago(7200)
    pod = cluster.get("Pod", "nb-idle-driver", NS)
    assert pod is not None
    pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"] = started  # a server up for 2h
    cluster.replace(pod)
    cluster.seed_many([_executor("nb-busy", 1), _executor("nb-busy", 2, "Pending"),
                       _killing("nb-idle-exec-4", last_used), _killing("nb-idle-exec-3", earlier),
                       _killing("nb-idle-2-exec-1", _ago(10))], quiet=True)  # another app's executor
    before = len(cluster.requests())
    listed = {a["name"]: a for a in json.loads(cli("list", "-n", NS, "-o", "json").stdout)}
    new = cluster.requests()[before:]
    assert len(new) == 6  # driver pods, ConfigMaps, CronJobs, executor pods, two kinds of events: whatever the number of apps
    assert "fieldSelector=involvedObject.kind%3DPod%2Creason%3DStarted" in new[4][1]
    assert "fieldSelector=involvedObject.kind%3DPod%2Creason%3DKilling" in new[5][1]
    assert listed["pi"]["connect"] is None
    busy, idle = listed["nb-busy"]["connect"], listed["nb-idle"]["connect"]
    assert busy == {"url": "sc://nb-busy-connect-svc.spark.svc:15002", "port": 15002, "ready": True,
                    "token_secret": "", "token_key": "", "executors": 2, "idle_since": None}
    assert idle["executors"] == 0 and idle["idle_since"] == last_used
    table = cli("list", "-n", NS).stdout.splitlines()
    assert table[0].split() == ["NAME", "PHASE", "AGE", "PRIORITY", "CLASS", "CONNECT", "ACTIVITY"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert rows["nb-busy"].endswith("sc://nb-busy-connect-svc.spark.svc:15002   busy (2 executors)")
    assert rows["nb-idle"].split()[-2:] == ["idle", "5m"]
    assert rows["pi"].split()[-2:] == ["-", "-"]
    status = cli("status", "nb-idle", "-n", NS)
    assert fields(status.stdout)["activity"] == f"idle 5m (since {last_used})"
    assert fields(status.stdout)["connect"] == "sc://nb-idle-connect-svc.spark.svc:15002"
    assert fields(status.stdout)["token"] == "none"


def test_list_of_batch_apps_only_stays_three_requests_and_keeps_its_columns(cluster: RunningCluster, cli: Cli) -> None:
    assert cli("run", "-f", PI, "--name", "pi", "-n", NS, "--wait").exit_code == 0
    before = len(cluster.requests())
    table = cli("list", "-n", NS).stdout.splitlines()
    assert len(cluster.requests()) - before == 3  # driver pods, ConfigMaps, CronJobs
    assert table[0].split() == ["NAME", "PHASE", "AGE", "PRIORITY", "CLASS"]
    assert "connect" not in cli("status", "pi", "-n", NS).stdout


def test_events_that_cannot_be_read_leave_the_idle_time_from_the_pods(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.scripts["nb"] = serving("nb")
    assert cli("connect", "--name", "nb", "-n", NS, "--detach").exit_code == 0
    cluster.emulator.denied.add(("list", "events", NS))
    listed = json.loads(cli("list", "-n", NS, "-o", "json").stdout)
    pod = cluster.get("Pod", "nb-driver", NS)
    assert pod is not None
    assert listed[0]["connect"]["idle_since"] == pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]


def _server(name: str = "nb", *, started: str, ready: bool = True, phase: str = "Running") -> AppSummary:
    return AppSummary(name=name, namespace=NS, phase=phase, created=started, started=started, finished=None,
                      priority_class="", exit_code=None, reason="", message="",
                      connect=ConnectInfo(url=f"sc://{name}-connect-svc.{NS}.svc:15002", port=15002, ready=ready))


def test_idle_since_is_the_latest_trace_of_an_executor_or_the_servers_start() -> None:
    start = "2026-11-21T08:00:00Z"
    cases: list[tuple[list[Obj], list[Obj], str | None, int]] = [
        ([], [], start, 0),  # never used: since its (container's) start
        ([], [_killing("nb-exec-1", "2026-11-21T09:00:00Z"), _killing("nb-exec-2", "2026-11-21T09:30:00Z")],
         "2026-11-21T09:30:00Z", 0),
        ([], [_killing("nb-exec-1", "2026-11-21T09:10:00.123456Z", field="eventTime")], "2026-11-21T09:10:00Z", 0),
        ([], [{**_killing("nb-exec-3", "2026-11-21T09:40:00Z"), "reason": "Started"},  # released, then deleted:
              _killing("nb-exec-2", "2026-11-21T09:30:00Z")], "2026-11-21T09:40:00Z", 0),  # its start remains
        ([], [_killing("nb-exec-1", "2026-11-21T07:00:00Z")], start, 0),  # before this server started
        ([], [_killing("nb-2-exec-1", "2026-11-21T09:00:00Z"), _killing("nb-driver", "2026-11-21T09:00:00Z"),
              {**_killing("nb-exec-1", "2026-11-21T09:00:00Z"), "reason": "Pulled"}], start, 0),
        ([{**_executor("nb", 1, "Succeeded"),
           "status": {"phase": "Succeeded", "containerStatuses": [{"name": "x", "state": {"terminated": {
               "finishedAt": "2026-11-21T10:00:00Z"}}}]}}], [], "2026-11-21T10:00:00Z", 0),
        ([_executor("nb", 1, deletionTimestamp="2026-11-21T11:00:30Z", deletionGracePeriodSeconds=30)], [],
         "2026-11-21T11:00:00Z", 0),  # being deleted: done when its deletion was asked for
        ([_executor("nb", 1), _executor("nb-2", 1)], [_killing("nb-exec-2", "2026-11-21T09:00:00Z")], None, 1),
    ]
    for executors, events, expected, busy in cases:
        server = _server(started=start)
        connect_activity([server], executors, events)
        assert server.connect is not None
        assert (server.connect.idle_since, server.connect.executors) == (expected, busy), (executors, events)
    for server in (_server(started=start, ready=False), _server(started=start, phase="Terminating")):
        connect_activity([server], [], [])
        assert server.connect is not None and server.connect.idle_since is None


def test_the_cli_and_api_are_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    notebooks = (ROOT / "docs" / "notebooks.md").read_text()
    python_api = (ROOT / "docs" / "python-api.md").read_text()
    assert "## Spark Connect and notebooks" in readme and "docs/notebooks.md" in readme
    assert "`connect(" in python_api and "ConnectSession" in python_api
    assert "sparkhelm connect" in notebooks and "api.connect(" in notebooks
    assert "is being built" not in notebooks


def test_values_from_standard_input_are_read_once_and_applied(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.default = serving("any")
    result = cli("connect", "-f", "-", "-n", NS, "--detach", input="connect:\n  idleTimeout: 7s\n")
    assert result.exit_code == 0, result.stderr
    config = cluster.get("ConfigMap", f"{fields(result.stdout)['app']}-cm", NS)
    assert config is not None
    assert "spark.dynamicAllocation.executorIdleTimeout      7s" in config["data"]["spark-defaults.conf"]
