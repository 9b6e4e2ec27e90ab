"""sparkhelm.kube.client against real servers: HTTPS with CA verification, client certificates, an exec
plugin, CONNECT proxies, streams that never end, and the project's API emulator (with port-forward).

Nothing in the client is patched: each test resolves a kubeconfig it wrote and talks to a server in
a thread (tests/kubeclient/servers.py), then asserts on what the server saw and what came back.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from sparkhelm.errors import ConflictError, EngineError, ForbiddenError, NotFoundError, UserError, one_line
from sparkhelm.kube import connection as connection_mod
from sparkhelm.kube.client import Client, resource_path
from sparkhelm.kube.connection import Connection, KubeTarget, resolve
from tests.harness import DriverScript, RunningCluster
from tests.kubeclient.servers import ApiServer, ConnectProxy
from tests.test_kubeconfig import PROXY_VARS, b64, plugin_exec

#: Deadline tests: how far ahead the deadline is, and the generous bound on when the iterator must end
#: (the point is "seconds, not the 14 minutes a log stream once hung a pipeline").
AHEAD = 1.5
BOUND = AHEAD + 3.0


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (*PROXY_VARS, "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    connection_mod._EXEC_CACHE.clear()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def connect(tmp: Path, server: str, user: dict[str, Any] | None, *, ca: trustme.CA | None = None,
            **cluster: Any) -> Connection:
    """Resolve a kubeconfig written for `server` (CA embedded when given) the way a command would."""
    entry: dict[str, Any] = {"server": server, **cluster}
    if ca is not None:
        entry["certificate-authority-data"] = b64(ca.cert_pem.bytes())
    context: dict[str, Any] = {"cluster": "c", "namespace": "default"}
    users = []
    if user is not None:
        context["user"] = "u"
        users = [{"name": "u", "user": user}]
    doc = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "c", "cluster": entry}], "users": users,
           "contexts": [{"name": "ctx", "context": context}], "current-context": "ctx"}
    path = tmp / f"kubeconfig-{len(list(tmp.glob('kubeconfig-*')))}"
    path.write_text(yaml.safe_dump(doc))
    return resolve(KubeTarget(kubeconfig=str(path)))


def failure(fn: Any) -> str:
    with pytest.raises(EngineError) as caught:
        fn()
    text, code = one_line(caught.value)
    assert code == 1 and "\n" not in str(caught.value)
    return text


# --- TLS and credentials --------------------------------------------------------------------------


def test_bearer_token_over_tls_verified_against_the_kubeconfig_ca(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca) as server:
        server.behaviour.tokens = {"good-token"}
        client = Client(connect(tmp_path, server.url, {"token": "good-token"}, ca=ca))
        assert client.get("/version") == {"gitVersion": "v1.31.0", "seen": "Bearer good-token"}
        assert server.requests[0].headers["User-Agent"].startswith("sparkhelm/")

        stranger = trustme.CA()  # a server whose certificate our CA did not sign must be refused
        message = failure(lambda: Client(connect(tmp_path, server.url, {"token": "good-token"}, ca=stranger)).get("/version"))
        assert message.startswith(f"cannot reach the Kubernetes API at {server.url} (TLS: certificate verify failed")
        assert message.endswith("; check KUBECONFIG, --kubeconfig or --kube-context")
        assert len(server.requests) == 1


def test_a_rejected_token_means_log_in_again(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca) as server:
        server.behaviour.tokens = {"good-token"}
        client = Client(connect(tmp_path, server.url, {"token": "stale-token"}, ca=ca))
        message = failure(lambda: client.get("/version"))
        assert message == f"the cluster at {server.url} rejected the credentials of context ctx; log in again"
        assert len(server.requests) == 1  # a static token is not retried


def test_basic_auth(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca) as server:
        server.behaviour.basic = "admin:pa:ss"
        client = Client(connect(tmp_path, server.url, {"username": "admin", "password": "pa:ss"}, ca=ca))
        assert client.get("/version") is not None


def test_client_certificate_from_a_0600_temp_file_removed_after_loading(tmp_path: Path, ca: trustme.CA,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    leaf = ca.issue_cert("alice.example")
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    modes: list[int] = []
    original = ssl.SSLContext.load_cert_chain

    def spy(self: ssl.SSLContext, certfile: str, *args: Any, **kwargs: Any) -> None:
        modes.append(os.stat(certfile).st_mode & 0o777)
        original(self, certfile, *args, **kwargs)

    user = {"client-certificate-data": b64(leaf.cert_chain_pems[0].bytes()),
            "client-key-data": b64(leaf.private_key_pem.bytes())}
    with ApiServer(ca, require_client_cert=True) as server:
        monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)  # after the server loaded its own
        assert Client(connect(tmp_path, server.url, user, ca=ca)).get("/version") is not None
        assert server.requests[0].client_cert_cn == "alice.example"
        assert modes == [0o600]
        assert list(private.iterdir()) == []  # the key did not stay on disk

        message = failure(lambda: Client(connect(tmp_path, server.url, {"token": "x"}, ca=ca)).get("/version"))
        assert message.startswith(f"cannot reach the Kubernetes API at {server.url} (")
        assert server.handshake_failures >= 1 and len(server.requests) == 1


def test_a_key_that_does_not_match_the_certificate_is_a_user_error(tmp_path: Path, ca: trustme.CA) -> None:
    alice, bob = ca.issue_cert("alice.example"), ca.issue_cert("bob.example")
    user = {"client-certificate-data": b64(alice.cert_chain_pems[0].bytes()),
            "client-key-data": b64(bob.private_key_pem.bytes())}
    with ApiServer(ca) as server, pytest.raises(UserError) as caught:
        Client(connect(tmp_path, server.url, user, ca=ca)).get("/version")
    assert "the client certificate and key of user u cannot be used" in str(caught.value)
    assert one_line(caught.value)[1] == 2


def test_tls_server_name_sets_sni_and_the_name_checked(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca, names=("api.internal",)) as server:  # the certificate does not name 127.0.0.1
        message = failure(lambda: Client(connect(tmp_path, server.url, None, ca=ca)).get("/version"))
        assert "TLS: Hostname mismatch" in message or "certificate verify failed" in message, message
        client = Client(connect(tmp_path, server.url, None, ca=ca, **{"tls-server-name": "api.internal"}))
        assert client.get("/version") is not None
        assert server.sni[-1] == "api.internal"


def test_insecure_skips_verification(tmp_path: Path) -> None:
    with ApiServer(trustme.CA()) as server:
        client = Client(connect(tmp_path, server.url, None, **{"insecure-skip-tls-verify": True}))
        assert client.get("/version") is not None


# --- exec plugins -----------------------------------------------------------------------------------


def runs(state: Path) -> int:
    return len((state / "runs").read_text().splitlines()) if (state / "runs").exists() else 0


def test_exec_plugin_runs_once_and_again_once_after_a_401(tmp_path: Path, ca: trustme.CA) -> None:
    state = tmp_path / "state"
    with ApiServer(ca) as server:
        server.behaviour.tokens = {"second"}  # the plugin's first token is already revoked
        client = Client(connect(tmp_path, server.url, {"exec": plugin_exec(state, PLUGIN_TOKENS="first,second")}, ca=ca))
        assert runs(state) == 0
        for _ in range(5):
            assert client.get("/version") == {"gitVersion": "v1.31.0", "seen": "Bearer second"}
        assert runs(state) == 2  # first answer rejected (401), run again, then cached
        assert [r.headers["Authorization"] for r in server.requests] == ["Bearer first"] + ["Bearer second"] * 5

        server.behaviour.tokens = {"never"}
        message = failure(lambda: client.get("/version"))
        assert message == f"the cluster at {server.url} rejected the credentials of context ctx; log in again"
        assert runs(state) == 3  # one more run after the 401, not a loop


def test_exec_credentials_are_cached_until_their_expiration(tmp_path: Path, ca: trustme.CA) -> None:
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    earlier = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    with ApiServer(ca) as server:
        for expiry, expected in ((later, 1), (earlier, 3)):
            state = tmp_path / f"state-{expected}"
            client = Client(connect(tmp_path, server.url, {"exec": plugin_exec(state, PLUGIN_EXPIRY=expiry)}, ca=ca))
            for _ in range(3):
                client.get("/version")
            assert runs(state) == expected, expiry


def test_exec_plugin_client_certificate(tmp_path: Path, ca: trustme.CA) -> None:
    leaf = ca.issue_cert("plugin-user.example")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    exec_spec = plugin_exec(tmp_path / "state", PLUGIN_MODE="cert", PLUGIN_CERT=str(cert), PLUGIN_KEY=str(key))
    with ApiServer(ca, require_client_cert=True) as server:
        client = Client(connect(tmp_path, server.url, {"exec": exec_spec}, ca=ca))
        assert client.get("/version") is not None
        assert client.get("/version") is not None
        assert [r.client_cert_cn for r in server.requests] == ["plugin-user.example"] * 2
        assert "Authorization" not in server.requests[0].headers
        assert runs(tmp_path / "state") == 1


# --- proxies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tls_proxy", [False, True], ids=["http-proxy", "https-proxy"])
def test_requests_go_through_a_connect_proxy(tmp_path: Path, ca: trustme.CA, tls_proxy: bool) -> None:
    with ApiServer(ca) as server, ConnectProxy(ca if tls_proxy else None, credentials="bob:s3cret") as proxy:
        authority = proxy.url.replace("://", "://bob:s3cret@")
        client = Client(connect(tmp_path, server.url, {"token": "t"}, ca=ca, **{"proxy-url": authority}))
        for _ in range(3):
            assert client.get("/version") is not None
        assert proxy.tunnels == [f"127.0.0.1:{server.port}"]  # one tunnel, kept alive
        assert server.connections == 1 and len(server.requests) == 3

        wrong = proxy.url.replace("://", "://bob:wrong@")
        message = failure(lambda: Client(connect(tmp_path, server.url, None, ca=ca, **{"proxy-url": wrong})).get("/version"))
        assert message == (f"cannot reach the Kubernetes API at {server.url} (the proxy answered CONNECT with 407 "
                           "Proxy Authentication Required); check KUBECONFIG, --kubeconfig or --kube-context")


def test_an_environment_proxy_is_used_for_a_remote_server(tmp_path: Path, ca: trustme.CA,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS_PROXY applies to servers that are not loopback: the client never resolves the name itself."""
    with ApiServer(ca) as server, ConnectProxy(upstream="127.0.0.1") as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        client = Client(connect(tmp_path, f"https://api.internal:{server.port}", {"token": "t"}, ca=ca))
        assert client.connection.proxy_url == proxy.url
        assert client.get("/version") is not None
        assert proxy.tunnels == [f"api.internal:{server.port}"]
        assert server.sni == ["api.internal"]


# --- requests, keep-alive, threads, paging, errors --------------------------------------------------------


def test_many_requests_share_one_connection(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca) as server:
        client = Client(connect(tmp_path, server.url, {"token": "t"}, ca=ca))
        for _ in range(20):
            client.get("/version")
        client.request("POST", "/echo", body={"a": 1})
        assert client.get("/nowhere") is None
        assert client.requests_sent == len(server.requests) == 22
        assert server.connections == 1 and client.connections_opened == 1


def test_a_few_threads_share_the_client(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca) as server:
        client = Client(connect(tmp_path, server.url, {"token": "t"}, ca=ca))
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(10):
                    assert client.get("/version") is not None
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(server.requests) == 40
        assert server.connections <= 4


def test_a_connection_the_server_closed_is_replaced(tmp_path: Path, ca: trustme.CA) -> None:
    with ApiServer(ca) as server:
        server.behaviour.drop_after_response = True  # as an idle timeout does, without a Connection: close
        client = Client(connect(tmp_path, server.url, None, ca=ca))
        assert client.get("/version") is not None
        time.sleep(0.1)
        assert client.get("/version") is not None
        assert server.connections == 2 and len(server.requests) == 2


def test_list_follows_continue_tokens(tmp_path: Path) -> None:
    with ApiServer(None) as server:
        server.behaviour.items = 1234
        client = Client(connect(tmp_path, server.url, None))
        items = client.list("/api/v1/namespaces/big/pods", label_selector="app=x", field_selector="status.phase=Running")
        assert [i["metadata"]["name"] for i in items] == [f"pod-{i:05d}" for i in range(1234)]
        assert [r.query for r in server.requests] == [
            {"limit": "500", "labelSelector": "app=x", "fieldSelector": "status.phase=Running"},
            {"limit": "500", "labelSelector": "app=x", "fieldSelector": "status.phase=Running", "continue": "500"},
            {"limit": "500", "labelSelector": "app=x", "fieldSelector": "status.phase=Running", "continue": "1000"},
        ]


def test_an_expired_continue_token_falls_back_to_one_full_list(tmp_path: Path) -> None:
    with ApiServer(None) as server:
        server.behaviour.items = 700
        server.behaviour.expire_continue = True
        items = Client(connect(tmp_path, server.url, None)).list("/api/v1/namespaces/big/pods")
        assert len(items) == 700 and len({i["metadata"]["name"] for i in items}) == 700
        assert [r.query for r in server.requests] == [{"limit": "500"}, {"limit": "500", "continue": "500"}, {}]


def test_error_statuses_become_sparkhelm_errors(tmp_path: Path) -> None:
    with ApiServer(None) as server:
        client = Client(connect(tmp_path, server.url, None))
        with pytest.raises(NotFoundError) as missing:
            client.request("GET", "/nowhere")
        assert (missing.value.status, missing.value.reason, missing.value.message) == (404, "NotFound", "/nowhere not found")
        assert client.delete("/nowhere") is None
        server.behaviour.status = 403
        with pytest.raises(ForbiddenError) as forbidden:
            client.get("/version")
        assert (forbidden.value.status, str(forbidden.value)) == (403, "no, says the test")
        assert one_line(forbidden.value) == ("no, says the test", 1)


def test_an_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message = failure(lambda: Client(connect(tmp_path, f"https://127.0.0.1:{port}", None)).get("/version"))
    assert message == (f"cannot reach the Kubernetes API at https://127.0.0.1:{port} (connection refused); "
                       "check KUBECONFIG, --kubeconfig or --kube-context")


def test_stream_lines_joins_chunks_into_lines(tmp_path: Path) -> None:
    with ApiServer(None) as server:
        client = Client(connect(tmp_path, server.url, None))
        assert list(client.stream_lines("/lines", deadline=time.monotonic() + 10)) == ["one", "two", "three"]
        assert client.get("/version") is not None
        assert server.connections == 1  # a stream that ended cleanly leaves its connection for reuse


def test_resource_path() -> None:
    assert resource_path("", "v1", "pods", namespace="x", name="y", subresource="log") == "/api/v1/namespaces/x/pods/y/log"
    assert resource_path("networking.k8s.io", "v1", "ingresses") == "/apis/networking.k8s.io/v1/ingresses"
    assert resource_path("scheduling.k8s.io", "v1", "priorityclasses", name="high") == (
        "/apis/scheduling.k8s.io/v1/priorityclasses/high")
    with pytest.raises(ValueError):
        resource_path("", "v1", "pods", subresource="log")


# --- deadlines -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["/quiet", "/silent", "/chatty"])
@pytest.mark.parametrize("how", ["watch", "stream_lines"])
def test_streams_end_by_their_deadline_whatever_the_server_does(tmp_path: Path, ca: trustme.CA, route: str,
                                                                how: str) -> None:
    """/quiet answers 200 then says nothing; /silent never answers; /chatty sends a line every 50 ms forever."""
    with ApiServer(ca) as server:
        client = Client(connect(tmp_path, server.url, None, ca=ca))
        started = time.monotonic()
        deadline = started + AHEAD
        received = list(getattr(client, how)(route, deadline=deadline))
        elapsed = time.monotonic() - started
        assert elapsed < BOUND, f"{how} {route} ended after {elapsed:.1f} s"
        if route == "/chatty":
            assert len(received) >= 5  # it did receive while the server talked
            if how == "watch":
                assert received[0]["type"] == "MODIFIED"
        else:
            assert received == []
        if how == "watch":
            assert server.requests[0].query["watch"] == "true"
            assert server.requests[0].query["timeoutSeconds"] == "2"  # the server is asked to end it too
        assert client.get("/version") is not None  # the client is still usable


def test_a_deadline_in_the_past_sends_nothing(tmp_path: Path) -> None:
    with ApiServer(None) as server:
        client = Client(connect(tmp_path, server.url, None))
        assert list(client.watch("/chatty", deadline=time.monotonic() - 1)) == []
        assert server.requests == []


def test_breaking_out_of_a_stream_closes_its_connection(tmp_path: Path) -> None:
    with ApiServer(None) as server:
        client = Client(connect(tmp_path, server.url, None))
        for _line in client.stream_lines("/chatty", deadline=time.monotonic() + 30):
            break
        assert client._idle == []  # not returned to the pool mid-stream
        assert client.get("/version") is not None
        assert server.connections == 2


# --- against the project's API emulator -------------------------------------------------------------------


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "busybox"}]}}


PODS = resource_path("", "v1", "pods", namespace="spark")


def test_crud_and_selectors_against_the_emulator(cluster: RunningCluster) -> None:
    client = Client(resolve(KubeTarget(namespace="spark")))
    assert client.connection.namespace == "spark"
    for name, role in (("a-driver", "driver"), ("a-exec-1", "executor"), ("b-driver", "driver")):
        created = client.create(PODS, pod(name, {"spark-role": role, "app-name": name[0]}))
        assert created["metadata"]["uid"]
    with pytest.raises(ConflictError):
        client.create(PODS, pod("a-driver"))
    names = sorted(p["metadata"]["name"] for p in client.list(PODS, label_selector="spark-role=driver"))
    assert names == ["a-driver", "b-driver"]
    assert [p["metadata"]["name"] for p in client.list(PODS, field_selector="metadata.name=a-exec-1")] == ["a-exec-1"]
    patched = client.patch(f"{PODS}/a-driver", {"metadata": {"labels": {"seen": "yes"}}})
    assert patched["metadata"]["labels"] == {"spark-role": "driver", "app-name": "a", "seen": "yes"}
    assert (client.get(f"{PODS}/a-driver") or {})["metadata"]["labels"]["seen"] == "yes"
    assert client.get(f"{PODS}/nope") is None
    assert client.delete(f"{PODS}/b-driver") is not None
    assert client.delete(f"{PODS}/b-driver") is None
    client.delete_collection(PODS, label_selector="app-name=a")
    assert cluster.names("Pod", "spark") == []
    sent = [(m, p) for m, p in cluster.requests() if "/pods" in p]
    assert ("DELETE", "/api/v1/namespaces/spark/pods?labelSelector=app-name%3Da") in sent
    with pytest.raises(ValueError):
        client.delete_collection(PODS, label_selector=" ")
    assert client.requests_sent == len(cluster.requests())


def test_watch_against_the_emulator(cluster: RunningCluster) -> None:
    client = Client(resolve(KubeTarget(namespace="spark")))
    client.create(PODS, pod("w", {"x": "1"}))
    client.create(PODS, pod("other"))
    timer = threading.Timer(0.3, lambda: cluster.replace({**(cluster.get("Pod", "w", "spark") or {}),
                                                          "status": {"phase": "Running"}}))
    timer.start()
    events = []
    for event in client.watch(PODS, query={"labelSelector": "x=1"}, deadline=time.monotonic() + 3):
        events.append((event["type"], event["object"]["metadata"]["name"], event["object"].get("status", {}).get("phase")))
        if event["type"] == "MODIFIED":
            break
    timer.join()
    assert events == [("ADDED", "w", "Pending"), ("MODIFIED", "w", "Running")]


def test_logs_against_the_emulator(cluster: RunningCluster) -> None:
    cluster.kubelet.scripts["demo"] = DriverScript(log=["starting", "Pi is roughly 3.14", "done"], executors=0)
    client = Client(resolve(KubeTarget(namespace="spark")))
    client.create(PODS, pod("demo-driver", {"spark-role": "driver", "app-name": "demo"}))
    cluster.wait_for(lambda: (cluster.get("Pod", "demo-driver", "spark") or {}).get("status", {}).get("phase") == "Running")
    followed = list(client.stream_lines(f"{PODS}/demo-driver/log", query={"follow": "true"},
                                        deadline=time.monotonic() + 20))
    assert followed == ["starting", "Pi is roughly 3.14", "done"]  # ended with the container, not the deadline
    assert client.text(f"{PODS}/demo-driver/log", query={"tailLines": "1"}) == "done\n"
    with pytest.raises(NotFoundError) as missing:
        client.text(f"{PODS}/nope/log")
    assert missing.value.message == 'pods "nope" not found'


# --- port-forward ------------------------------------------------------------------------------------------


class Echo:
    """A TCP server that sends back what it receives (what a pod's port would be)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        self.listener.close()


def receive(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(10)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_port_forward_through_the_emulator(cluster: RunningCluster) -> None:
    echo = Echo()
    try:
        cluster.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ui", "namespace": "spark"}}, quiet=True)
        cluster.emulator.forwards[("spark", "ui", 4040)] = ("127.0.0.1", echo.port)
        client = Client(resolve(KubeTarget(namespace="spark")))
        first = client.port_forward("spark", "ui", 4040)
        second = client.port_forward("spark", "ui", 4040)  # one stream per connection, as kubectl does
        first.sendall(b"hello\n")
        second.sendall(b"world\n")
        big = os.urandom(200_000)
        assert receive(first, 6) == b"hello\n"
        assert receive(second, 6) == b"world\n"
        sender = threading.Thread(target=first.sendall, args=(big,))
        sender.start()
        assert receive(first, len(big)) == big  # larger than any buffer: many frames both ways
        sender.join()
        first.close()
        second.close()
        forwards = [p for m, p in cluster.requests() if "portforward" in p]
        assert forwards == ["/api/v1/namespaces/spark/pods/ui/portforward?ports=4040"] * 2
    finally:
        echo.close()


def test_port_forward_errors(cluster: RunningCluster) -> None:
    cluster.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ui", "namespace": "spark"}}, quiet=True)
    client = Client(resolve(KubeTarget(namespace="spark")))
    refused = client.port_forward("spark", "ui", 9999)  # nothing listens there
    assert receive(refused, 1) == b""
    deadline = time.monotonic() + 5
    while refused.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert refused.error == "error forwarding port 9999: connection refused"
    with pytest.raises(NotFoundError) as missing:
        client.port_forward("spark", "gone", 4040)
    assert missing.value.message == 'pods "gone" not found'


def test_port_forward_carries_the_credentials(cluster: RunningCluster) -> None:
    cluster.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ui", "namespace": "spark"}}, quiet=True)
    client = Client(resolve(KubeTarget(namespace="spark")))
    client.port_forward("spark", "ui", 1).close()
    request = next(r for r in cluster.emulator._requests if "portforward" in str(r.url))
    assert request.headers.get("Authorization") == "Bearer emulator-secret-token"


# --- the third oracle: what a real kubectl sends ---------------------------------------------------------


def _oidc_token() -> str:
    from tests.test_kubeconfig import jwt

    return jwt({"iss": "https://idp.example", "aud": "k8s", "sub": "alice", "exp": int(time.time()) + 3600})


USERS_FOR_KUBECTL: dict[str, Any] = {
    "token": lambda tmp: {"token": "static-token"},
    "token-file-with-newline": lambda tmp: {"tokenFile": str(_file(tmp / "token", "from-file\n"))},
    "basic": lambda tmp: {"username": "admin", "password": "pa:ss word"},
    "exec-v1": lambda tmp: {"exec": plugin_exec(tmp / "state", PLUGIN_TOKENS="exec-token")},
    "exec-v1beta1": lambda tmp: {"exec": plugin_exec(tmp / "state", "client.authentication.k8s.io/v1beta1",
                                                     PLUGIN_TOKENS="beta-token")},
    "static-token-wins-over-exec": lambda tmp: {"token": "static", "exec": plugin_exec(tmp / "state")},
    "oidc-id-token": lambda tmp: {"auth-provider": {"name": "oidc", "config": {
        "client-id": "k8s", "idp-issuer-url": "https://idp.example", "id-token": _oidc_token()}}},
}  # (no anonymous user: kubectl then prompts for a username on https)


def _file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(USERS_FOR_KUBECTL))
def test_requests_carry_what_kubectl_sends(name: str, tmp_path: Path, ca: trustme.CA) -> None:
    """Run `kubectl get --raw /version` and our client against the same server: the same Authorization header."""
    import subprocess

    from tests.tools import tool

    kubectl = tool("kubectl37")
    with ApiServer(ca) as server:
        ours = connect(tmp_path, server.url, USERS_FOR_KUBECTL[name](tmp_path), ca=ca)
        env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home")}
        done = subprocess.run([str(kubectl), "--kubeconfig", ours.kubeconfig_files[0], "get", "--raw", "/version"],
                              env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert Client(ours).get("/version") is not None
        kubectl_request, our_request = server.requests
        assert our_request.headers.get("Authorization") == kubectl_request.headers.get("Authorization")
        if name == "static-token-wins-over-exec":
            assert runs(tmp_path / "state") == 0  # neither ran the plugin


def test_requests_and_port_forwards_share_the_proxy_tunnel_logic(cluster: RunningCluster, tmp_path: Path) -> None:
    """A port-forward reaches the cluster the way requests do: through the kubeconfig's proxy here."""
    echo = Echo()
    try:
        cluster.seed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ui", "namespace": "spark"}}, quiet=True)
        cluster.emulator.forwards[("spark", "ui", 4040)] = ("127.0.0.1", echo.port)
        with ConnectProxy() as proxy:
            config = cluster.kubeconfig_dict("spark")
            config["clusters"][0]["cluster"]["proxy-url"] = proxy.url
            path = tmp_path / "proxied"
            path.write_text(yaml.safe_dump(config))
            client = Client(resolve(KubeTarget(kubeconfig=str(path))))
            assert client.list(PODS) != []
            forwarded = client.port_forward("spark", "ui", 4040)
            forwarded.sendall(b"through the proxy\n")
            assert receive(forwarded, 18) == b"through the proxy\n"
            forwarded.close()
            server = cluster.url.removeprefix("http://")
            assert proxy.tunnels == [server, server]  # one for the kept-alive requests, one for the WebSocket
    finally:
        echo.close()
