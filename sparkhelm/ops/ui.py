"""`sparkhelm ui`: a local port forwarded to the driver's UI port through the API server.

Each browser connection gets its own port-forward stream (kube.portforward: the API server's
websocket protocol), as kubectl does with one stream per connection; bytes are copied both ways by
two threads until either side closes.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

from sparkhelm.errors import SparkhelmError, UserError
from sparkhelm.kube.cluster import Cluster
from sparkhelm.spec.naming import AppNames, validate_app_name

if TYPE_CHECKING:
    from sparkhelm.kube.connection import Connection, KubeTarget

BUFFER = 65536


def _pump(source: Any, target: Any) -> None:
    try:
        while chunk := source.recv(BUFFER):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


class UiForwarder:
    """Listen on 127.0.0.1:`local_port` (0 = any free port) and forward to `pod`:`remote_port`."""

    def __init__(self, cluster: Cluster, pod: str, namespace: str, remote_port: int, local_port: int = 0) -> None:
        self.cluster = cluster
        self.pod = pod
        self.namespace = namespace
        self.remote_port = remote_port
        self._listener = socket.create_server(("127.0.0.1", local_port))
        self.port: int = self._listener.getsockname()[1]
        self._stopped = threading.Event()

    @property
    def url(self) -> str:
        """Where the UI is reachable locally."""
        return f"http://127.0.0.1:{self.port}/"

    def _handle(self, client: socket.socket) -> None:
        try:
            remote = self.cluster.client.port_forward(self.namespace, self.pod, self.remote_port)
        except (SparkhelmError, OSError) as exc:  # one failed connection must not end the session
            print(f"sparkhelm: warning: port-forward to {self.pod}: {exc}", file=sys.stderr)
            client.close()
            return
        threads = [
            threading.Thread(target=_pump, args=(client, remote), daemon=True),
            threading.Thread(target=_pump, args=(remote, client), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        with contextlib.suppress(OSError):
            remote.close()

    def serve_forever(self) -> None:
        """Accept connections until `stop()` (Ctrl-C in the CLI)."""
        self._listener.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()


def open_ui(
    app_name: str, *, kube: KubeTarget | Connection | Cluster | None = None, local_port: int = 4040
) -> UiForwarder:
    """A local listener forwarding to the driver's UI port (call `serve_forever`, then `stop`)."""
    validate_app_name(app_name, source="APP")
    cluster = Cluster.of(kube)
    names = AppNames(app_name)
    pod = cluster.require_pod(names.driver_pod, f"app {app_name}")
    phase = (pod.get("status") or {}).get("phase", "Unknown")
    if phase != "Running":
        raise SparkhelmError(f"{app_name} is {phase}: the Spark UI exists only while the driver runs")
    try:
        return UiForwarder(cluster, names.driver_pod, cluster.namespace, ui_port(pod), local_port)
    except OSError as exc:
        raise UserError(f"--port {local_port}: cannot listen on it ({exc.strerror}); pick another or 0") from None


def ui_port(pod: dict[str, Any]) -> int:
    """The driver container's port named spark-ui (4040 unless the values changed it)."""
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == "spark-ui":
                return int(port["containerPort"])
    return 4040
