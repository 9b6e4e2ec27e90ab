"""Real servers for the kube client's tests: an HTTPS "API server" and an HTTP CONNECT proxy, in threads.

The API server speaks just enough of the Kubernetes API for the client's transport to be tested for
real: TLS with a trustme CA (optionally requiring a client certificate), bearer-token checks that
answer 401 like an API server, LIST paging with continue tokens, and streams that never end (quiet
or chatty) for the deadline tests. It counts the TCP connections it accepts and records every
request, so tests assert on what reached it.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import select
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import trustme

API_SERVER_NAMES = ("127.0.0.1", "localhost", "api.internal")


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_cert_cn: str | None


@dataclass
class Behaviour:
    """What the server accepts and how it answers; tests change it while the server runs."""

    #: Bearer tokens accepted; None = any request is accepted (no Authorization needed).
    tokens: set[str] | None = None
    basic: str | None = None  # accepted "user:password"
    #: Items of /api/v1/namespaces/big/pods, served in pages of the client's `limit`.
    items: int = 0
    #: Answer the next continuation request with 410 Gone (an expired continue token), once.
    expire_continue: bool = False
    #: Answer every request with this status (e.g. 403) when set.
    status: int | None = None
    chatty_interval: float = 0.05
    #: Close each connection right after answering, without saying so (as an idle timeout does).
    drop_after_response: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class ApiServer:
    """An HTTPS (or HTTP) server on 127.0.0.1 with the behaviour above. Use as a context manager."""

    def __init__(
        self, ca: trustme.CA | None, *, require_client_cert: bool = False, names: tuple[str, ...] = API_SERVER_NAMES
    ) -> None:
        self.behaviour = Behaviour()
        self.sni: list[str | None] = []
        self.requests: list[Recorded] = []
        self.connections = 0
        self.handshake_failures = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.tls: ssl.SSLContext | None = None
        if ca is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert(*names).configure_cert(self.tls)
            self.tls.sni_callback = lambda _sock, name, _context: self.sni.append(name)  # type: ignore[assignment,func-returns-value]
            if require_client_cert:
                ca.configure_trust(self.tls)
                self.tls.verify_mode = ssl.CERT_REQUIRED
        outer = self

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, address = self.socket.accept()
                with outer._lock:
                    outer.connections += 1
                if outer.tls is not None:
                    sock = outer.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
                return sock, address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that went away mid-stream is what the deadline tests do

        self.httpd = Server(("127.0.0.1", 0), _handler(self))
        self.port = self.httpd.server_address[1]
        scheme = "https" if ca is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        """Paths of the requests served so far."""
        return [r.path for r in self.requests]

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message, "code": code}


def _handler(server: ApiServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the API server does
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stalls

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def setup(self) -> None:
            if isinstance(self.request, ssl.SSLSocket):
                try:
                    self.request.settimeout(5)
                    self.request.do_handshake()
                    self.request.settimeout(None)
                except (ssl.SSLError, OSError):
                    with server._lock:
                        server.handshake_failures += 1
                    self.request.close()
                    raise
            super().setup()

        def handle(self) -> None:
            with contextlib.suppress(ssl.SSLError, ConnectionError, OSError):
                super().handle()

        # plumbing -----------------------------------------------------------------------------

        def _send_json(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _client_gone(self, wait: float) -> bool:
            """Wait up to `wait` seconds; True when the client closed its side."""
            readable, _, _ = select.select([self.connection], [], [], wait)
            if not readable:
                return False
            try:
                self.connection.settimeout(0.2)
                if isinstance(self.connection, ssl.SSLSocket):  # TLS sockets cannot peek; nothing else is coming
                    return self.connection.recv(1) == b""
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            except TimeoutError:
                return False
            except (OSError, ssl.SSLError):
                return True

        # requests -----------------------------------------------------------------------------

        def _serve(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            cn = None
            if isinstance(self.connection, ssl.SSLSocket):
                peer = self.connection.getpeercert()
                if peer:
                    cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), None)
                    cn = cn or next((v for k, v in peer.get("subjectAltName", ()) if k == "DNS"), None)
            server.record(Recorded(self.command, parsed.path, query, dict(self.headers), body, cn))
            behaviour = server.behaviour
            if not self._authorised(behaviour):
                self._send_json(401, _status(401, "Unauthorized", "Unauthorized"))
                return
            if behaviour.status is not None:
                self._send_json(behaviour.status, _status(behaviour.status, "Forbidden", "no, says the test"))
                return
            route = parsed.path
            if route.endswith("/version"):
                self._send_json(200, {"gitVersion": "v1.31.0", "seen": dict(self.headers).get("Authorization")})
            elif route == "/api/v1/namespaces/big/pods":
                self._list(query, behaviour)
            elif route == "/quiet":
                self._quiet()
            elif route == "/silent":
                while not server.stop.is_set() and not self._client_gone(0.1):
                    pass
            elif route == "/chatty":
                self._chatty(behaviour)
            elif route == "/lines":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._chunk(b"one\ntw")
                self._chunk(b"o\nthree")
                self._chunk(b"")
            elif route == "/echo":
                self._send_json(200, {"method": self.command, "body": body.decode(), "query": query})
            else:
                self._send_json(404, _status(404, "NotFound", f"{route} not found"))
            if behaviour.drop_after_response:
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815 - http.server's names

        def _authorised(self, behaviour: Behaviour) -> bool:
            header = self.headers.get("Authorization") or ""
            if behaviour.basic is not None:
                import base64

                return header == "Basic " + base64.b64encode(behaviour.basic.encode()).decode()
            if behaviour.tokens is None:
                return True
            return header.startswith("Bearer ") and header[7:] in behaviour.tokens

        def _list(self, query: dict[str, str], behaviour: Behaviour) -> None:
            limit = int(query.get("limit") or 0) or behaviour.items
            start = int(query.get("continue") or 0)
            if start and behaviour.expire_continue:
                behaviour.expire_continue = False
                self._send_json(410, _status(410, "Expired", "The provided continue parameter is too old"))
                return
            end = min(start + limit, behaviour.items)
            items = [{"metadata": {"name": f"pod-{i:05d}"}} for i in range(start, end)]
            meta: dict[str, Any] = {"resourceVersion": "7"}
            if end < behaviour.items:
                meta["continue"] = str(end)
            self._send_json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items})

        def _quiet(self) -> None:
            """200 and chunked headers, then nothing at all until the client leaves."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            while not server.stop.is_set() and not self._client_gone(0.1):
                pass
            self.close_connection = True

        def _chatty(self, behaviour: Behaviour) -> None:
            """A line every `chatty_interval` seconds, forever (a watch event, valid JSON, so watch can use it too)."""
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            number = 0
            try:
                while not server.stop.is_set():
                    number += 1
                    event = {"type": "MODIFIED", "object": {"metadata": {"name": "p", "resourceVersion": str(number)}}}
                    self._chunk(json.dumps(event).encode() + b"\n")
                    time.sleep(behaviour.chatty_interval)
            except (OSError, ssl.SSLError):
                pass
            self.close_connection = True

    return Handler


class ConnectProxy:
    """An HTTP CONNECT proxy (optionally itself behind TLS, i.e. an https:// proxy), counting its tunnels."""

    def __init__(
        self, ca: trustme.CA | None = None, *, credentials: str | None = None, upstream: str | None = None
    ) -> None:
        """`upstream`: dial this address whatever host CONNECT names (the proxy's own name resolution)."""
        self.upstream = upstream
        self.tunnels: list[str] = []
        self.refused = 0
        self.credentials = credentials
        self.tls: ssl.SSLContext | None = None
        if ca is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(self.tls)
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._tunnel(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if ca is not None else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _tunnel(self, client: socket.socket) -> None:
        if self.tls is not None:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):
                return
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(4096)
            if not data:
                return
            head += data
        lines = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        if self.credentials is not None:
            import base64

            wanted = "Basic " + base64.b64encode(self.credentials.encode()).decode()
            if headers.get("proxy-authorization") != wanted:
                self.refused += 1
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                return
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((self.upstream or host.strip("[]"), int(port)))
        self.tunnels.append(target)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        _splice(client, upstream)


def _splice(a: Any, b: socket.socket) -> None:
    """Copy both ways until either side closes (`a` may be a TLS socket with buffered bytes)."""
    sockets = [a, b]
    try:
        while True:
            pending = a.pending() if isinstance(a, ssl.SSLSocket) else 0
            readable = [a] if pending else select.select(sockets, [], [], 1.0)[0]
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except (OSError, ssl.SSLError):
        return
    finally:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
