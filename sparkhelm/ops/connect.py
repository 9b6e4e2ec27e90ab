"""Spark Connect servers: start one (or find the running one), wait until it serves, forward a local port to it.

A server is an app of the chart in connect mode (`connect.enabled`): its driver runs Spark Connect's
server on the gRPC port `connect.port`, and its pod is Ready once a TCP readiness probe reaches that
port. Starting one is `submit` with `connect.enabled=true` added to the user's values; a name that
names a running server is reused as it is, never reinstalled. Waiting is `ops.follow`'s watch of the
driver pod, ended by Ready, or by what no waiting fixes: a driver that cannot start (an image that
cannot be pulled, a missing Secret), one that ended, or one the kubelet keeps restarting
(CrashLoopBackOff). The local end is `ops.ui`'s forwarder: one port-forward through the API server
per client connection, to the driver pod's gRPC port.

PySpark sends a token only over TLS, except to the host written `localhost` (it then uses gRPC's
local credentials, which require a loopback peer): the forwarded URL is therefore
`sc://localhost:PORT`, with `/;token=...` when the server requires one.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sparkhelm.engine import Engine, engine_of
from sparkhelm.errors import EngineError, ForbiddenError, NotFoundError, SparkhelmError, UserError, WaitTimeoutError
from sparkhelm.kube.apps import (
    TERMINAL,
    ConnectInfo,
    connect_info,
    crash_looping,
    is_ready,
    last_exit,
    summarize,
    waiting,
)
from sparkhelm.kube.cluster import Cluster
from sparkhelm.spec.durations import format_duration
from sparkhelm.spec.inputs import Inputs
from sparkhelm.spec.naming import AppNames, validate_app_name

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget
    from sparkhelm.ops.remove import Removal
    from sparkhelm.ops.ui import UiForwarder

Obj = dict[str, Any]
#: Spark Connect's own default port: `sc://localhost` without a port reaches it.
DEFAULT_LOCAL_PORT = 15002
#: How long to wait for a server to serve: the chart's startup probe allows 10 minutes (JVM, packages).
DEFAULT_TIMEOUT = 600.0
#: The base of a generated server name (the application file and main class are not run in connect mode).
NAME_BASE = "connect"
#: The value that turns the chart's connect mode on; added after the user's own values.
CONNECT_ON = "connect.enabled=true"


@dataclass
class ConnectServer:
    """A Spark Connect server on the cluster: which app, where, on which port, and whether this call started it."""

    app: str
    namespace: str
    #: The gRPC port of the driver container (`connect.port`); 0 until the pod is read.
    port: int
    #: Installed by this call (False: it was running already and is only reused).
    created: bool
    connection: Connection = field(repr=False, compare=False)
    #: The server's pre-shared token, read from its Secret (None: it requires none, or it could not be read).
    token: str | None = field(default=None, repr=False)
    #: Where the token the server requires lives ("Secret NAME, key KEY"), "" when it requires none.
    token_source: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def driver_pod(self) -> str:
        """The pod that runs the server."""
        return AppNames(self.app).driver_pod

    @property
    def in_cluster_url(self) -> str:
        """The URL for clients in the cluster: the Connect Service (a NetworkPolicy decides who reaches it)."""
        return f"sc://{AppNames(self.app).connect_service}.{self.namespace}.svc:{self.port}"

    def local_url(self, local_port: int) -> str:
        """The URL through a port-forward on `local_port`; with the token when the server requires one."""
        url = f"sc://localhost:{local_port}"
        if self.token is not None:
            return f"{url}/;token={quote(self.token, safe='')}"
        return f"{url}/;token=<token>" if self.token_source else url

    @property
    def _where(self) -> str:
        context = f" --kube-context {self.connection.context}" if self.connection.context else ""
        return f"-n {self.namespace}{context}"

    @property
    def connect_command(self) -> str:
        """The command that forwards a local port to this server again."""
        return f"sparkhelm connect --name {self.app} {self._where}"

    @property
    def stop_command(self) -> str:
        """The command that removes this server."""
        return f"sparkhelm connect --stop --name {self.app} {self._where}"


def _generated_name(inputs: Inputs) -> str | None:
    """A name `connect-<suffix>` when the user names nothing (no --name, nameOverride or app.name), else None.

    The chart's default application file would otherwise name the server after pi.py, which a
    server never runs; compute() still validates every value and decides every other case.
    """
    from sparkhelm.chart.files import resolve_chart_dir, shared_default_values
    from sparkhelm.spec.layers import coalesce, get, user_values
    from sparkhelm.spec.naming import generate_app_name

    if inputs.name is not None or "-" in [str(f) for f in inputs.values_files]:
        return None  # standard input can be read once only: compute() reads it, and names the server
    user = user_values(inputs.values_files, inputs.sets, inputs.set_strings)
    effective = coalesce(shared_default_values(resolve_chart_dir(inputs.chart)), user)
    if effective.get("nameOverride") or get(effective, "app", "name"):
        return None
    priority = effective.get("priorityClassName")
    return generate_app_name(NAME_BASE, priority if isinstance(priority, str) else "")


def _reuse(cluster: Cluster, name: str, pod: Obj, *, values_given: bool) -> ConnectServer:
    """A running server named `name`: checked to be a Connect server that has not ended."""
    app = summarize(pod)
    where = f"-n {cluster.namespace}"
    if app.connect is None:
        raise UserError(
            f"--name {name}: the app {name} in namespace {cluster.namespace} is a batch application, not a Spark "
            f"Connect server; choose another name (or delete it: sparkhelm delete {name} {where})"
        )
    if app.phase == "Terminating":
        raise EngineError(
            f"the Spark Connect server {name} is being deleted; wait until it is gone, or choose another name"
        )
    server = ConnectServer(app=name, namespace=cluster.namespace, port=app.connect.port, created=False,
                           connection=cluster.connection)
    if app.phase in TERMINAL:
        code, why = last_exit(pod)
        detail = f"{app.phase}, exit code {code}" if code is not None else app.phase
        raise EngineError(
            f"the Spark Connect server {name} has ended ({detail}{': ' + why if why else ''}); "
            f"remove it with '{server.stop_command}' and start it again"
        )
    if values_given:
        server.warnings.append(
            f"{name} runs already: the values given (-f, --set) are not applied to it; to change them, "
            f"stop it ('{server.stop_command}') and start it again"
        )
    return server


def start_server(
    source: Inputs | str, *, cluster: Cluster, engine: Engine, notice: Callable[[str], None] = print
) -> ConnectServer:
    """Find the running server `source` names, or install a new one with connect mode on (never an upgrade).

    `source` is an app name (a server that must exist) or `Inputs`: its `name`, when a server of that
    name runs, is reused; otherwise the inputs are installed with `connect.enabled=true` added last.
    """
    from sparkhelm.ops.submit import submit

    if isinstance(source, str):
        name = validate_app_name(source, source="name")
        pod = cluster.pod(AppNames(name).driver_pod)
        if pod is None:
            raise NotFoundError(
                f"no Spark Connect server {name} in namespace {cluster.namespace}; start one with "
                f"'sparkhelm connect --name {name} -n {cluster.namespace}'"
            )
        return _reuse(cluster, name, pod, values_given=False)
    if source.name is not None:
        validate_app_name(source.name, source="--name")
        pod = cluster.pod(AppNames(source.name).driver_pod)
        if pod is not None:
            return _reuse(cluster, source.name, pod, values_given=bool(
                source.values_files or source.sets or source.set_strings))
    inputs = Inputs(values_files=source.values_files, sets=[*source.sets, CONNECT_ON],
                    set_strings=source.set_strings, name=source.name or _generated_name(source), chart=source.chart)
    submission = submit(inputs, kube=cluster, engine=engine)
    notice(f"installed the Spark Connect server {submission.app_name} in namespace {submission.namespace}")
    return ConnectServer(app=submission.app_name, namespace=submission.namespace, port=0, created=True,
                         connection=submission.connection, warnings=list(submission.warnings))


def _serving_or_hopeless(pod: Obj) -> bool:
    """The wait ends: the server serves (Ready), ended, or keeps crashing."""
    return is_ready(pod) or summarize(pod).phase in TERMINAL or crash_looping(pod)


def wait_until_serving(
    server: ConnectServer, *, cluster: Cluster, timeout: float | None, notice: Callable[[str], None] = print
) -> Obj:
    """Watch the driver pod until it is Ready (its readiness probe reached the gRPC port); the pod then.

    Raises EngineError with the reason when it cannot start, has ended or keeps crashing,
    WaitTimeoutError when `timeout` runs out, DriverGoneError when the pod is deleted meanwhile.
    """
    from sparkhelm.ops.follow import Follower

    follower = Follower(cluster, server.app, timeout=timeout, echo=notice, notice=notice)
    pod = follower.wait_until(_serving_or_hopeless)
    app = summarize(pod)
    if is_ready(pod) and app.connect is not None:
        server.port = app.connect.port
        _read_token(cluster, server, app.connect)
        notice(f"{server.app} serves: its pod is Ready (the readiness probe reached port {server.port})")
        return pod
    if app.connect is None:
        raise EngineError(f"{server.app} is not a Spark Connect server (its driver has no spark-connect port)")
    if app.phase == "Pending":
        reason, message = waiting(pod)
        detail = f"{reason}: {' '.join(message.split())}" if message else reason
        raise EngineError(f"the Spark Connect server {server.app} cannot start ({detail})")
    code, why = last_exit(pod)
    exit_text = f"exit code {code}" if code is not None else "no exit code"
    if app.phase in TERMINAL:
        raise EngineError(f"the Spark Connect server {server.app} ended ({app.phase}, {exit_text})"
                          + (f": {why}" if why else ""))
    restarts = _restart_count(pod)
    raise EngineError(f"the Spark Connect server {server.app} keeps exiting (restarted {restarts} times, last "
                      f"{exit_text})" + (f": {why}" if why else ""))


def _restart_count(pod: Obj) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount") or 0)


def _read_token(cluster: Cluster, server: ConnectServer, info: ConnectInfo) -> None:
    """The token the server requires, from its Secret; a warning (and a placeholder in the URL) when unreadable."""
    if not info.token_secret:
        return
    server.token_source = f"Secret {info.token_secret}, key {info.token_key}"
    try:
        secret = cluster.get("Secret", info.token_secret)
    except ForbiddenError:
        secret = None
    data = (secret or {}).get("data") or {}
    try:
        encoded = data.get(info.token_key)
        server.token = base64.b64decode(encoded, validate=True).decode() if encoded else None
    except (binascii.Error, UnicodeDecodeError):
        server.token = None
    if server.token is None:
        server.warnings.append(
            f"the server requires a token and the {server.token_source} cannot be read here: put the token in "
            "place of <token> in the URL"
        )


def stop(
    app_name: str, *, kube: KubeTarget | Connection | Cluster | None = None, engine: Engine | str = "auto"
) -> Removal:
    """Remove a Spark Connect server (its release and every object of it); a batch app of that name is refused."""
    from sparkhelm.ops.remove import delete

    validate_app_name(app_name, source="--name")
    cluster = Cluster.of(kube)
    pod = cluster.pod(AppNames(app_name).driver_pod)
    if pod is not None and connect_info(pod) is None:
        raise UserError(
            f"--name {app_name}: the app {app_name} is a batch application, not a Spark Connect server; "
            f"delete it with 'sparkhelm delete {app_name} -n {cluster.namespace}'"
        )
    return delete([app_name], kube=cluster, engine=engine)[0]


def bind(cluster: Cluster, local_port: int) -> UiForwarder:
    """A listener on 127.0.0.1:`local_port` (0: any free port), bound before anything is installed.

    The pod and remote port are filled in once the server is known. A port that cannot be had is the
    user's choice to change (UserError), found before the cluster is touched.
    """
    from sparkhelm.ops.ui import UiForwarder

    if not 0 <= local_port <= 65535:
        raise UserError(f"--port {local_port}: a port is a number from 1 to 65535 (0: any free port)")
    try:
        return UiForwarder(cluster, "", cluster.namespace, 0, local_port)
    except OSError as exc:
        raise UserError(f"--port {local_port}: cannot listen on it ({exc.strerror}); pick another or 0") from None


class ConnectSession:
    """A Spark Connect server and a local port forwarded to it, served on a background thread.

    `url` is what `SparkSession.builder.remote(...)` takes. `close()` ends the forward and leaves the
    server running; `stop()` ends the forward and removes the server. As a context manager it stops
    a server this session started and only closes the forward to one it found running.
    """

    def __init__(self, server: ConnectServer, forwarder: UiForwarder, cluster: Cluster, engine: Engine) -> None:
        self.server = server
        self._forwarder = forwarder
        self._cluster = cluster
        self._engine = engine
        self._thread = threading.Thread(target=self._serve, name=f"connect-{server.app}", daemon=True)
        self._closed = False
        self._thread.start()

    def _serve(self) -> None:
        # A session closed before this thread ran finds its listener closed: nothing left to serve.
        with contextlib.suppress(OSError):
            self._forwarder.serve_forever()

    @property
    def app(self) -> str:
        """The server's app name."""
        return self.server.app

    @property
    def namespace(self) -> str:
        """The server's namespace."""
        return self.server.namespace

    @property
    def local_port(self) -> int:
        """The local port forwarded to the server."""
        return self._forwarder.port

    @property
    def url(self) -> str:
        """`sc://localhost:<port>` (with the token the server requires)."""
        return self.server.local_url(self.local_port)

    @property
    def in_cluster_url(self) -> str:
        """The URL for notebooks in the cluster (through the Connect Service)."""
        return self.server.in_cluster_url

    @property
    def created(self) -> bool:
        """Whether this session installed the server (then the context manager removes it at the end)."""
        return self.server.created

    def wait(self) -> None:
        """Block until the forward is closed (the CLI holds it until Ctrl-C)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def close(self) -> None:
        """End the forward; the server keeps running."""
        if self._closed:
            return
        self._closed = True
        self._forwarder.stop()
        self._thread.join(5)

    def stop(self) -> Removal:
        """End the forward and remove the server (its release and every object of it)."""
        from sparkhelm.ops.remove import delete

        self.close()
        return delete([self.server.app], kube=self._cluster, engine=self._engine)[0]

    def __enter__(self) -> ConnectSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.server.created:
            self.stop()
        else:
            self.close()

    def __repr__(self) -> str:
        return f"ConnectSession(app={self.app!r}, namespace={self.namespace!r}, local_port={self.local_port})"


def _discard(cluster: Cluster, engine: Engine, server: ConnectServer) -> str:
    """Remove a server this call installed and that will not serve; what became of it, for the error message."""
    from sparkhelm.ops.remove import delete

    try:
        removal = delete([server.app], kube=cluster, engine=engine)[0]
    except SparkhelmError as exc:
        return f"removing it failed ({exc}); remove it with '{server.stop_command}'"
    if removal.done:
        return "it was removed"
    left = ", ".join(str(item) for item in removal.remaining if not item.terminating)
    return f"removing it left {left}; remove it with '{server.stop_command}'"


def serve(
    source: Inputs | str,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    engine: Engine | str = "auto",
    timeout: float | None = DEFAULT_TIMEOUT,
    keep: bool = False,
    notice: Callable[[str], None] = print,
    started: Callable[[ConnectServer], None] | None = None,
) -> ConnectServer:
    """Start (or find) the server and wait until it serves; the server then.

    A server this call installed that does not come to serve (it cannot start, ends, keeps crashing,
    the wait runs out or is interrupted) is removed again unless `keep`; the error says so.
    `started` is called once the server is installed or found, before the wait.
    """
    cluster = Cluster.of(kube)
    chosen = engine_of(engine)
    server = start_server(source, cluster=cluster, engine=chosen, notice=notice)
    if started is not None:
        started(server)
    try:
        wait_until_serving(server, cluster=cluster, timeout=timeout, notice=notice)
    except WaitTimeoutError:
        if keep or not server.created:
            raise
        assert timeout is not None
        raise WaitTimeoutError(f"the Spark Connect server {server.app} did not serve within "
                               f"{format_duration(timeout)}; {_discard(cluster, chosen, server)}") from None
    except SparkhelmError as exc:
        if not server.created:
            raise
        if keep:
            raise type(exc)(f"{exc}; it stays installed: remove it with '{server.stop_command}'") from None
        raise type(exc)(f"{exc}; {_discard(cluster, chosen, server)}") from None
    except KeyboardInterrupt:
        if server.created and not keep:
            notice(f"interrupted: {_discard(cluster, chosen, server)}")
        raise
    return server


def connect(
    source: Inputs | str,
    *,
    kube: KubeTarget | Connection | Cluster | None = None,
    engine: Engine | str = "auto",
    local_port: int = 0,
    timeout: float | None = DEFAULT_TIMEOUT,
    notice: Callable[[str], None] = print,
    started: Callable[[ConnectServer], None] | None = None,
) -> ConnectSession:
    """Start (or find) a Spark Connect server, wait until it serves, and forward `local_port` to it.

    `source`: an app name (a running server) or `Inputs` (installed with connect mode on, unless
    `Inputs.name` names a running server). The local port is bound first: a busy port fails before
    anything is installed. A server installed here that does not come to serve is removed again.
    """
    cluster = Cluster.of(kube)
    chosen = engine_of(engine)
    if isinstance(source, Inputs) and source.name is not None:
        validate_app_name(source.name, source="--name")
    forwarder = bind(cluster, local_port)
    try:
        server = serve(source, kube=cluster, engine=chosen, timeout=timeout, notice=notice, started=started)
    except BaseException:
        forwarder.stop()
        raise
    forwarder.pod, forwarder.namespace, forwarder.remote_port = server.driver_pod, server.namespace, server.port
    return ConnectSession(server, forwarder, cluster, chosen)

