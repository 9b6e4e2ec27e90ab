"""A Kubernetes API client on the standard library: JSON over one kept-alive HTTPS connection.

Why not the `kubernetes` package (or lightkube, kr8s): `sparkhelm list/status/logs` should cost
about what `kubectl get pods` costs, and most of a short command's time is imports. Measured on the
project's 2-core VM (median of 15 process runs, wall time; `python -X importtime` agrees):

    python -c pass                                     0.027 s
    import http.client, ssl, json (this module's needs) 0.086 s
    import urllib3                                     0.208 s
    import kubernetes.client, kubernetes.config        0.711 s
    kubectl version --client                           0.100 s

(the lead measured lightkube at 0.39 s and kr8s at 0.63 s on the same machine.) So this client uses
`http.client` and `ssl` only; `websocket-client` is imported only to port-forward. What it supports:

* every connection setting of `connection.Connection`: CA bytes or the system roots, insecure,
  tls-server-name (SNI and the name checked), client certificates (loaded from 0600 temp files that
  are removed right after loading), bearer tokens, token files re-read when they change, basic auth,
  exec plugins (cached; run again once on a 401), proxies through CONNECT (http:// and https://
  proxies; TLS inside TLS for the latter), server URLs with a path prefix;
* keep-alive: a small pool of connections, one TLS handshake per thread that needs one, not one per
  request; a request that finds its pooled connection closed by the server is sent again once;
* LIST with `limit`/`continue` paging (and the full-list fallback when a continue token expires),
  watches and followed logs that end by a deadline whatever the server does, pod logs as text,
  port-forwarding (portforward.py);
* errors as sparkhelm errors, one line each: `ApiError` (and `ForbiddenError`, `NotFoundError`,
  `ConflictError`) with the API server's own message, a 401 as "log in again", transport failures
  as "cannot reach the Kubernetes API at SERVER (reason)".

Not supported: HTTP/2, protobuf, SOCKS proxies (resolve refuses them with what to use instead).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import math
import socket
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlencode

from sparkhelm import __version__
from sparkhelm.errors import ApiError, ConflictError, EngineError, ForbiddenError, NotFoundError, UserError
from sparkhelm.kube.connection import Connection, split_host_port
from sparkhelm.kube.kubeconfig import FLAG

Obj = dict[str, Any]
T = TypeVar("T")
USER_AGENT = f"sparkhelm/{__version__} (python http.client)"
#: Items per LIST page: big namespaces come in pages the API server can serve from its cache.
PAGE_SIZE = 500
#: Metadata only, and plain JSON from a server that cannot (the API server has served it since 1.15).
METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"
#: Idle connections kept for reuse (a command uses one per thread; a few threads at most).
MAX_IDLE = 16
#: How often a request the API server throttles (429, API Priority and Fairness) is sent again, and the
#: longest wait between tries (the server's Retry-After when it says one).
THROTTLED_TRIES = 4
MAX_RETRY_AFTER = 10.0
READ_SIZE = 65536
_ERROR_CLASSES: dict[int, type[ApiError]] = {403: ForbiddenError, 404: NotFoundError, 409: ConflictError}
#: Errors that mean "the server closed this kept-alive connection before our request": send it again.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


def resource_path(
    group: str,
    version: str,
    plural: str,
    *,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The REST path of a collection or an object: `/api/v1/namespaces/x/pods/y/log`, `/apis/g/v/plural`."""
    parts = ["/api", version] if not group else ["/apis", group, version]
    if namespace is not None:
        parts += ["namespaces", quote(namespace, safe="")]
    parts.append(plural)
    if name is not None:
        parts.append(quote(name, safe=""))
    if subresource:
        if name is None:
            raise ValueError("a subresource needs an object name")
        parts.append(subresource)
    return "/".join(parts)


class ProxyRefusedError(OSError):
    """The proxy answered CONNECT with something else than 200 (an OSError: the transport failed)."""


class _UnreachableError(Exception):
    """A transport failure (kept apart so that streams can tell a deadline from a real failure)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Connection(http.client.HTTPConnection):
    """One connection to the API server; the client opens its socket (proxy tunnel, TLS, SNI)."""

    def __init__(self, client: Client, timeout: float) -> None:
        super().__init__(client.host, client.port, timeout=timeout)
        self.default_port = 443 if client.scheme == "https" else 80  # the Host header omits the default port
        self._client = client

    def connect(self) -> None:
        """Open the socket the client's way instead of http.client's direct TCP connection."""
        self.sock = self._client.open_socket(self.timeout or self._client.timeout)


class Client:
    """The HTTP client of one Connection. Thread-safe: each request takes a pooled connection or opens one."""

    def __init__(self, connection: Connection, *, timeout: float = 30.0) -> None:
        self.connection = connection
        self.timeout = timeout
        #: HTTP requests sent (retries included); tests and benchmarks read it.
        self.requests_sent = 0
        #: TCP connections opened (each https one is a TLS handshake).
        self.connections_opened = 0
        scheme, _, rest = connection.server.partition("://")
        netloc, slash, prefix = rest.partition("/")
        self.scheme = scheme
        self.host, self.port = split_host_port(netloc, 443 if scheme == "https" else 80)
        self.prefix = (slash + prefix).rstrip("/")
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._context: ssl.SSLContext | None = None
        self._identity: tuple[bytes, bytes] | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the verbs ----------------------------------------------------------------------------------

    def get(self, path: str, *, query: Mapping[str, str] | None = None) -> Obj | None:
        """The object (or any JSON document) at `path`; None when the API server says 404."""
        status, reason, data = self._call("GET", path, query=query)
        if status == 404:
            return None
        return self._json("GET", path, status, reason, data)

    def list(
        self, path: str, *, label_selector: str | None = None, field_selector: str | None = None,
        metadata_only: bool = False,
    ) -> list[Obj]:
        """The items of a collection, page by page (limit=500, following `continue`), so big namespaces list whole.

        `metadata_only` asks for PartialObjectMetadataList, as kubectl and client-go's metadata informers do: each
        item's kind and metadata without its spec, data or status (a Helm release record is ~150 KiB of data).
        """
        accept = METADATA_LIST_ACCEPT if metadata_only else "application/json"
        query: dict[str, str] = {"limit": str(PAGE_SIZE)}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        items: list[Obj] = []
        while True:
            try:
                page = self.request("GET", path, query=query, accept=accept)
            except ApiError as exc:
                if exc.status != 410 or "continue" not in query:
                    raise
                # The continue token expired (the list took longer than the server keeps a snapshot):
                # client-go's pager then lists everything at once; so do we.
                query.pop("continue")
                query.pop("limit")
                items = []
                continue
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token or "limit" not in query:
                return items
            if token == query.get("continue"):
                raise EngineError(f"list {path}: the API server answered the same continue token twice")
            query["continue"] = token

    def create(self, path: str, body: Obj) -> Obj:
        """POST a new object to a collection; the created object."""
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: Obj, *, content_type: str = "application/merge-patch+json") -> Obj:
        """PATCH an object (JSON merge patch unless told otherwise); the patched object."""
        return self.request("PATCH", path, body=body, content_type=content_type)

    def delete(self, path: str, *, propagation: str = "Background") -> Obj | None:
        """DELETE an object, its dependents collected per `propagation`; None when it did not exist."""
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        status, reason, data = self._call("DELETE", path, body=options)
        if status == 404:
            return None
        return self._json("DELETE", path, status, reason, data)

    def delete_collection(self, path: str, *, label_selector: str) -> None:
        """DELETE every object of a collection that matches `label_selector` (which must not be empty)."""
        if not label_selector.strip():
            raise ValueError("delete_collection needs a label selector; an empty one deletes everything")
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        self.request("DELETE", path, query={"labelSelector": label_selector}, body=options)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Obj:
        """Any call; the decoded JSON answer ({} when empty). Error statuses raise ApiError and its kinds."""
        status, reason, data = self._call(
            method, path, query=query, body=body, content_type=content_type, accept=accept
        )
        return self._json(method, path, status, reason, data)

    def text(self, path: str, *, query: Mapping[str, str] | None = None) -> str:
        """A text answer, such as a pod's log without follow."""
        status, reason, data = self._call("GET", path, query=query, accept="*/*")
        if status >= 400:
            raise _api_error("GET", path, status, reason, data)
        return data.decode("utf-8", errors="replace")

    def watch(self, path: str, *, query: Mapping[str, str] | None = None, deadline: float) -> Iterator[Obj]:
        """Watch events ({"type", "object"}, ERROR and BOOKMARK included) as they come, until `deadline`.

        `deadline` is a time.monotonic() value: the iterator ends (no exception) by then, however
        quiet or chatty the server is; also when the server ends the watch. `timeoutSeconds` asks the
        server to end it at the deadline too.
        """
        params = dict(query or {})
        params.setdefault("watch", "true")
        remaining = deadline - time.monotonic()
        if not math.isinf(remaining):
            seconds = max(1, int(remaining + 0.999))
            if "timeoutSeconds" in params:
                seconds = min(seconds, int(params["timeoutSeconds"]))
            params["timeoutSeconds"] = str(seconds)
        lines = self.stream_lines(path, query=params, deadline=deadline, accept="application/json")
        with contextlib.closing(lines):
            for line in lines:
                if not line.strip():
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    raise EngineError(f"watch {path}: a line that is not JSON: {line[:80]!r}") from None
                if isinstance(event, dict):
                    yield event

    def stream_lines(
        self, path: str, *, query: Mapping[str, str] | None = None, deadline: float, accept: str = "*/*"
    ) -> Generator[str, None, None]:
        """Lines of a streamed answer (`pods/NAME/log?follow=true`) as they come, until the end or `deadline`.

        Every read waits at most until the deadline, and the deadline is checked after every read,
        so neither a silent server nor one that never stops talking keeps the iterator alive.
        """
        pending = b""
        # closing(): a caller that stops early closes the stream's connection now, not when collected
        with contextlib.closing(self._stream(path, query=query, deadline=deadline, accept=accept)) as chunks:
            for chunk in chunks:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", errors="replace")
        if pending:
            yield pending.decode("utf-8", errors="replace")

    def port_forward(self, namespace: str, pod: str, port: int) -> Any:
        """A connected socket to `port` of the pod, through the API server (see portforward.py)."""
        from sparkhelm.kube.portforward import open_port_forward

        return open_port_forward(self, namespace, pod, port)

    def close(self) -> None:
        """Close the pooled connections (a stream in progress closes its own when it ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    # requests -----------------------------------------------------------------------------------

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        """The request target: the server's path prefix, `path` and the encoded query."""
        return self.prefix + path + ("?" + urlencode(dict(query)) if query else "")

    def _call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, str, bytes]:
        """Send a request and read the whole answer: (status, reason, body).

        A 429 (the server sheds load) is sent again after its Retry-After, a few times, as client-go does.
        """
        for attempt in range(THROTTLED_TRIES):
            try:
                conn, response = self._send(method, path, query, body, content_type, accept, self.timeout)
                try:
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    raise _UnreachableError(exc) from None
            except _UnreachableError as exc:
                raise self.unreachable(exc.cause) from None
            self._release(conn, response)
            if response.status != 429 or attempt == THROTTLED_TRIES - 1:
                break
            try:
                pause = float(response.getheader("Retry-After") or 1)
            except ValueError:
                pause = 1.0
            time.sleep(min(max(pause, 0.1), MAX_RETRY_AFTER))
        return response.status, response.reason, data

    def _json(self, method: str, path: str, status: int, reason: str, data: bytes) -> Obj:
        if status >= 400:
            raise _api_error(method, path, status, reason, data)
        if not data:
            return {}
        try:
            decoded = json.loads(data)
        except ValueError:
            raise EngineError(f"{method} {path}: the API server answered {status} with something not JSON") from None
        if not isinstance(decoded, dict):
            raise EngineError(f"{method} {path}: the API server answered {status} with JSON that is not an object")
        return decoded

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        body: Any,
        content_type: str,
        accept: str,
        timeout: float,
    ) -> tuple[_Connection, http.client.HTTPResponse]:
        """Send one request and read the response head.

        A pooled connection that the server had closed is replaced and the request sent again; a 401
        refreshes the credentials (exec plugin, token file) and retries once; a second 401 is final.
        """
        url = self.url(path, query)
        payload = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        refreshed = False
        while True:
            headers = {"User-Agent": USER_AGENT, "Accept": accept}
            authorization = self.connection.credentials.authorization()
            if authorization:
                headers["Authorization"] = authorization
            if payload is not None:
                headers["Content-Type"] = content_type
            conn, reused = self._acquire(timeout)
            try:
                with self._lock:
                    self.requests_sent += 1
                conn.request(method, url, body=payload, headers=headers)
                response = conn.getresponse()
            except _STALE as exc:
                conn.close()
                if reused:
                    continue
                raise _UnreachableError(exc) from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise _UnreachableError(exc) from None
            except BaseException:
                conn.close()
                raise
            if response.status == 401:
                response.read()
                self._release(conn, response)
                if not refreshed and self.connection.credentials.refresh():
                    refreshed = True
                    self.close()  # an exec plugin may have issued a new client certificate
                    continue
                raise EngineError(
                    f"the cluster at {self.connection.server} rejected the credentials of {self.connection.who}; "
                    "log in again"
                )
            return conn, response

    def _stream(
        self, path: str, *, query: Mapping[str, str] | None, deadline: float, accept: str
    ) -> Generator[bytes, None, None]:
        """The body of a streamed answer, chunk by chunk, ending by `deadline` (see stream_lines)."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            conn, response = self._send("GET", path, query, None, "", accept, min(self.timeout, remaining + 0.2))
        except _UnreachableError as exc:
            if isinstance(exc.cause, TimeoutError) and time.monotonic() >= deadline:
                return  # the server did not even answer before the deadline: that is the end of it
            raise self.unreachable(exc.cause) from None
        if response.status >= 400:
            try:
                data = response.read()
            except (OSError, http.client.HTTPException):
                data = b""
            self._release(conn, response)
            raise _api_error("GET", path, response.status, response.reason, data)
        finished = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or conn.sock is None:
                    return
                conn.sock.settimeout(None if math.isinf(remaining) else remaining)  # no deadline: like kubectl logs -f
                try:
                    chunk = response.read1(READ_SIZE)
                except (OSError, http.client.HTTPException):
                    return  # the deadline (a timeout) or the server dropped the stream: either way, the end
                if not chunk:
                    finished = True
                    return
                yield chunk
        finally:
            if finished and not response.will_close and conn.sock is not None:
                conn.sock.settimeout(self.timeout)
                self._release(conn, response)
            else:
                conn.close()

    # connections --------------------------------------------------------------------------------

    def _acquire(self, timeout: float) -> tuple[_Connection, bool]:
        """An idle kept-alive connection (reused=True), else a new one (opened at its first request)."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is not None and conn.sock is not None:
            conn.timeout = timeout
            conn.sock.settimeout(timeout)
            return conn, True
        return _Connection(self, timeout), False

    def _release(self, conn: _Connection, response: http.client.HTTPResponse) -> None:
        """Give a connection whose answer was read back to the pool, or close it if it cannot be reused."""
        if response.will_close or not response.isclosed() or conn.sock is None:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < MAX_IDLE:
                conn.timeout = self.timeout
                self._idle.append(conn)
                return
        conn.close()

    def open_socket(self, timeout: float) -> Any:
        """A socket connected to the API server: through the proxy's CONNECT tunnel if any, TLS for https.

        http.client's connections and the port-forward WebSocket both use it, so both honour every
        setting of the connection the same way.
        """
        proxy = self.connection.proxy_url
        if proxy:
            proxy_scheme, _, rest = proxy.partition("://")
            netloc = rest.split("/", 1)[0]
            proxy_host, proxy_port = split_host_port(netloc, 443 if proxy_scheme == "https" else 80)
            sock: Any = socket.create_connection((proxy_host, proxy_port), timeout)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if proxy_scheme == "https":
                    sock = self._ssl_context().wrap_socket(sock, server_hostname=proxy_host)
                self._tunnel(sock, netloc)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.host, self.port), timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.connections_opened += 1
        if self.scheme != "https":
            return sock
        name = self.connection.tls_server_name or self.host
        try:
            if isinstance(sock, ssl.SSLSocket):  # TLS to an https:// proxy already: TLS inside it
                return _TunnelledTLS(sock, self._ssl_context(), name)
            return self._ssl_context().wrap_socket(sock, server_hostname=name)
        except BaseException:
            sock.close()
            raise

    def _tunnel(self, sock: Any, proxy_netloc: str) -> None:
        """Ask the proxy for a tunnel to the API server (HTTP CONNECT), with basic proxy credentials if given."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        lines = [f"CONNECT {host}:{self.port} HTTP/1.1", f"Host: {host}:{self.port}", f"User-Agent: {USER_AGENT}"]
        if "@" in proxy_netloc:
            user, _, password = proxy_netloc.rsplit("@", 1)[0].partition(":")
            secret = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode()
            lines.append(f"Proxy-Authorization: Basic {secret}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        response = http.client.HTTPResponse(sock, method="CONNECT")
        response.begin()
        if response.status != 200:
            raise ProxyRefusedError(f"the proxy answered CONNECT with {response.status} {response.reason}")

    def _ssl_context(self) -> ssl.SSLContext:
        """The TLS settings of the connection; made once, again only if an exec plugin changes the certificate."""
        identity = self.connection.credentials.identity()
        with self._lock:
            if self._context is None or identity != self._identity:
                self._context = _make_context(self.connection, identity)
                self._identity = identity
            return self._context

    def unreachable(self, cause: BaseException) -> EngineError:
        """The one-line error for a transport failure (also used by the port-forward)."""
        return EngineError(
            f"cannot reach the Kubernetes API at {self.connection.server} ({_reason(cause, self.timeout)}); "
            "check KUBECONFIG, --kubeconfig or --kube-context"
        )


def _api_error(method: str, path: str, status: int, reason: str, data: bytes) -> ApiError:
    """The sparkhelm error for an error status: the Status object's message when the server sent one."""
    message = ""
    kind_reason = reason
    try:
        body = json.loads(data) if data else None
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        message = str(body.get("message") or "")
        kind_reason = str(body.get("reason") or reason)
    if not message:
        snippet = " ".join(data.decode("utf-8", errors="replace").split())[:200]
        message = f"{method} {path}: the API server answered {status} {reason}" + (f": {snippet}" if snippet else "")
    return _ERROR_CLASSES.get(status, ApiError)(" ".join(message.split()), status=status, reason=kind_reason)


def _reason(cause: BaseException, timeout: float) -> str:
    """A short human reason for a transport failure."""
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS: certificate verify failed: {cause.verify_message or cause.reason}"
    if isinstance(cause, ssl.SSLError):
        return f"TLS: {cause.reason or cause}"
    if isinstance(cause, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return f"cannot resolve the host name: {cause.strerror}"
    if isinstance(cause, ProxyRefusedError):
        return str(cause)
    if isinstance(cause, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return " ".join(str(cause).split()) or type(cause).__name__


def _make_context(connection: Connection, identity: tuple[bytes, bytes] | None) -> ssl.SSLContext:
    """The connection's TLS: its CA (else the system's roots; nothing when insecure) and client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if connection.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif connection.ca_data:
        try:
            context.load_verify_locations(cadata=connection.ca_data.decode("ascii"))
        except (UnicodeDecodeError, ssl.SSLError, ValueError):
            try:
                context.load_verify_locations(cadata=connection.ca_data)  # DER
            except (ssl.SSLError, ValueError):
                where = f"cluster {connection.cluster}" if connection.cluster else "the service account's ca.crt"
                raise UserError(
                    f"{FLAG}: the certificate-authority of {where} is not a PEM or DER certificate; fix it"
                ) from None
    else:
        context.load_default_certs()
    if identity is not None:
        _load_identity(context, identity, connection)
    return context


def _load_identity(context: ssl.SSLContext, identity: tuple[bytes, bytes], connection: Connection) -> None:
    """Load a client certificate and key given as bytes.

    OpenSSL loads them from files only (ssl has no in-memory API), so they go to one private temp
    file (mkstemp: mode 0600) that is removed as soon as it is loaded.
    """
    import os
    import tempfile

    handle, name = tempfile.mkstemp(prefix="sparkhelm-client-", suffix=".pem")
    try:
        with os.fdopen(handle, "wb") as file:
            cert, key = identity
            file.write(cert.rstrip(b"\n") + b"\n" + key)
        context.load_cert_chain(name)
    except ssl.SSLError as exc:
        raise UserError(
            f"{FLAG}: the client certificate and key of user {connection.user} cannot be used "
            f"({exc.reason or exc}); check client-certificate and client-key"
        ) from None
    finally:
        os.unlink(name)


class _TunnelledTLS:
    """TLS to the API server inside the TLS connection to an https:// proxy.

    ssl.SSLSocket cannot wrap another SSLSocket, so the inner session runs on memory BIOs
    (ssl.SSLObject) over the outer socket; this object offers the socket methods that http.client
    and websocket-client call.
    """

    def __init__(self, outer: ssl.SSLSocket, context: ssl.SSLContext, server_hostname: str) -> None:
        self._outer = outer
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_hostname=server_hostname)
        self._lock = threading.Lock()
        self._run(self._tls.do_handshake)

    def _run(self, operation: Callable[..., T], *args: Any) -> T:
        """Drive the inner TLS: feed it what the outer socket receives, send what it produces."""
        while True:
            want_read = False
            with self._lock:
                try:
                    result = operation(*args)
                except ssl.SSLWantReadError:
                    want_read = True
                produced = self._outgoing.read()
            if produced:
                self._outer.sendall(produced)
            if not want_read:
                return result
            received = self._outer.recv(READ_SIZE)
            with self._lock:
                if received:
                    self._incoming.write(received)
                else:
                    self._incoming.write_eof()

    def recv(self, size: int = READ_SIZE, flags: int = 0) -> bytes:
        """Up to `size` decrypted bytes; b"" at the end of the stream."""
        try:
            return self._run(self._tls.read, size)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""

    def recv_into(self, buffer: Any, size: int = 0, flags: int = 0) -> int:
        """Receive into a buffer (what the buffered reader of makefile calls)."""
        data = self.recv(size or len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        """Encrypt and send all of `data`."""
        view = memoryview(data)
        while view:
            written = self._run(self._tls.write, view)
            view = view[written:]

    def send(self, data: bytes, flags: int = 0) -> int:
        """Send all of `data` (as sockets may send less; this never does)."""
        self.sendall(data)
        return len(data)

    def makefile(self, mode: str = "rb", buffering: int | None = None, **_: Any) -> io.BufferedReader:
        """A binary reader over the decrypted stream (http.client reads responses through it)."""
        if "w" in mode:
            raise ValueError("only reading files are supported")
        return io.BufferedReader(_Reader(self), buffering or io.DEFAULT_BUFFER_SIZE)

    def pending(self) -> int:
        """Decrypted bytes ready to read."""
        with self._lock:
            return self._tls.pending()

    def settimeout(self, value: float | None) -> None:
        """Timeouts apply to the outer socket's reads and writes."""
        self._outer.settimeout(value)

    def gettimeout(self) -> float | None:
        """The outer socket's timeout."""
        return self._outer.gettimeout()

    def setsockopt(self, *args: Any) -> None:
        """Socket options go to the outer socket."""
        self._outer.setsockopt(*args)

    def fileno(self) -> int:
        """The outer socket's descriptor."""
        return self._outer.fileno()

    def shutdown(self, how: int) -> None:
        """Shut the outer socket down."""
        self._outer.shutdown(how)

    def close(self) -> None:
        """Close the outer socket."""
        self._outer.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: _TunnelledTLS) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)
