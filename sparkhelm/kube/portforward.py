"""Port-forward to a pod through the API server: the v4.channel.k8s.io WebSocket protocol, as a socket.

The API server's `pods/NAME/portforward?ports=P` upgrades to a WebSocket whose binary messages
carry a channel byte: 0 is the port's data, 1 its errors; the first message on each channel is the
port number (2 bytes, little-endian). The caller gets one end of a local socket pair (a real socket:
recv/sendall/shutdown/close, select); two threads copy between the other end and the WebSocket.
v4 has no half-close, so when the caller closes or shuts down its writing side, the WebSocket is
closed (as kubectl and the `kubernetes` client do).

`websocket-client` is imported here only: the rest of sparkhelm never pays for it. It gets a socket
that `Client.open_socket` connected (proxy tunnel, TLS, SNI, client certificate), so a port-forward
reaches the cluster exactly as the client's requests do.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING, Any

from sparkhelm.errors import EngineError
from sparkhelm.kube.client import USER_AGENT, _api_error, resource_path

if TYPE_CHECKING:
    from sparkhelm.kube.client import Client

PROTOCOL = "v4.channel.k8s.io"
DATA, ERROR = 0, 1
BUFFER = 65536


class ForwardedSocket(socket.socket):
    """The caller's end of a port-forward; `error` holds what the API server reported on the error channel."""

    error: str | None = None


def open_port_forward(client: Client, namespace: str, pod: str, port: int) -> ForwardedSocket:
    """Open a WebSocket port-forward to `port` of the pod and return a socket connected to it.

    Raises NotFoundError (no such pod), ForbiddenError, EngineError (credentials rejected, cannot
    reach the API server, or a server that does not speak the protocol).
    """
    import websocket

    path = resource_path("", "v1", "pods", namespace=namespace, name=pod, subresource="portforward")
    ws = None
    for attempt in range(2):
        headers = [f"User-Agent: {USER_AGENT}"]
        authorization = client.connection.credentials.authorization()
        if authorization:
            headers.append(f"Authorization: {authorization}")
        try:
            sock = client.open_socket(client.timeout)
        except OSError as exc:  # includes TLS failures and a proxy that refused the tunnel
            raise client.unreachable(exc) from None
        scheme = "wss" if client.scheme == "https" else "ws"
        host = f"[{client.host}]" if ":" in client.host else client.host
        url = f"{scheme}://{host}:{client.port}{client.url(path, {'ports': str(port)})}"
        with client._lock:
            client.requests_sent += 1
        try:
            ws = websocket.create_connection(
                url,
                socket=sock,
                timeout=client.timeout,
                header=headers,
                subprotocols=[PROTOCOL],
                suppress_origin=True,
                enable_multithread=True,
                skip_utf8_validation=True,
            )
            break
        except websocket.WebSocketBadStatusException as exc:
            sock.close()
            status = exc.status_code
            if status == 401 and attempt == 0 and client.connection.credentials.refresh():
                continue
            if status == 401:
                raise EngineError(
                    f"the cluster at {client.connection.server} rejected the credentials of {client.connection.who}; "
                    "log in again"
                ) from None
            body = exc.resp_body if isinstance(exc.resp_body, bytes) else str(exc.resp_body or "").encode()
            raise _api_error("GET", path, status, exc.status_message or "", body) from None
        except (OSError, websocket.WebSocketException) as exc:
            sock.close()
            raise client.unreachable(exc) from None
    assert ws is not None
    if ws.subprotocol and ws.subprotocol != PROTOCOL:
        ws.shutdown()  # type: ignore[no-untyped-call]
        raise EngineError(f"port-forward to pod {pod}: the API server speaks {ws.subprotocol}, not {PROTOCOL}")

    try:
        _read_port_headers(ws, port)
    except (OSError, websocket.WebSocketException) as exc:
        ws.shutdown()  # type: ignore[no-untyped-call]
        raise EngineError(f"port-forward to pod {pod} port {port}: the API server ended the stream ({exc})") from None
    except _RefusedError as exc:
        ws.shutdown()  # type: ignore[no-untyped-call]
        raise EngineError(f"port-forward to pod {pod} port {port}: {exc}") from None

    ws.settimeout(None)  # a forwarded connection may be idle for as long as its user likes
    ours, theirs = socket.socketpair()
    user = ForwardedSocket(theirs.family, theirs.type, theirs.proto, fileno=theirs.detach())
    _Pumps(ws, ours, user).start()
    return user


class _RefusedError(Exception):
    """The first frames were not the port headers the protocol promises."""


def _read_port_headers(ws: Any, port: int) -> None:
    """Each channel's first message names the port; check both before handing the socket out."""
    import websocket

    seen: set[int] = set()
    while seen != {DATA, ERROR}:
        opcode, frame = ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise _RefusedError("the API server closed the stream")
        if opcode != websocket.ABNF.OPCODE_BINARY or not frame.data:
            continue
        channel, payload = frame.data[0], frame.data[1:]
        if channel not in (DATA, ERROR) or channel in seen:
            raise _RefusedError(f"unexpected message on channel {channel} before the port headers")
        if len(payload) != 2 or int.from_bytes(payload, "little") != port:
            raise _RefusedError(f"the API server answered for another port ({payload.hex()})")
        seen.add(channel)


class _Pumps:
    """Copy bytes between the WebSocket and our end of the socket pair, one thread per direction."""

    def __init__(self, ws: Any, ours: socket.socket, user: ForwardedSocket) -> None:
        self.ws = ws
        self.ours = ours
        self.user = user
        self._closing = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._from_server, name="port-forward-in", daemon=True).start()
        threading.Thread(target=self._to_server, name="port-forward-out", daemon=True).start()

    def _from_server(self) -> None:
        import websocket

        errors: list[str] = []
        try:
            while True:
                opcode, frame = self.ws.recv_data_frame(True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if opcode != websocket.ABNF.OPCODE_BINARY or not frame.data:
                    continue
                channel, payload = frame.data[0], frame.data[1:]
                if channel == DATA:
                    self.ours.sendall(payload)
                elif channel == ERROR and payload:
                    errors.append(payload.decode("utf-8", errors="replace"))
                    self.user.error = " ".join("".join(errors).split())
                    break
        except (OSError, websocket.WebSocketException):
            pass
        finally:
            self._close()

    def _to_server(self) -> None:
        import websocket

        try:
            while chunk := self.ours.recv(BUFFER):
                self.ws.send_binary(bytes([DATA]) + chunk)
        except (OSError, websocket.WebSocketException):
            pass
        finally:
            self._close()

    def _close(self) -> None:
        """End both directions once: say goodbye on the WebSocket, close it and our end of the pair."""
        if not self._closing.acquire(blocking=False):
            return  # the other direction is closing already
        raw = self.ws.sock
        with contextlib.suppress(Exception):
            self.ws.send_close()
        with contextlib.suppress(Exception):
            raw.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked reading the WebSocket
        with contextlib.suppress(Exception):
            self.ws.shutdown()
        with contextlib.suppress(OSError):
            self.ours.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.ours.close()
