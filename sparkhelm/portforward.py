"""`sparkhelm ui`: a local port forwarded to the driver's UI port through the API server.

Each browser connection gets its own port-forward stream (the `kubernetes` client's websocket
PortForward), as kubectl does with one stream per connection; bytes are copied both ways by two
threads until either side closes.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from typing import Any

from sparkhelm.cluster import Cluster
from sparkhelm.errors import SparkhelmError

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
            forward = self.cluster.port_forward(self.pod, self.namespace, self.remote_port)
        except SparkhelmError as exc:  # one failed connection must not end the session
            print(f"sparkhelm: warning: {exc}", file=sys.stderr)
            client.close()
            return
        remote = forward.socket(self.remote_port)
        threads = [
            threading.Thread(target=_pump, args=(client, remote), daemon=True),
            threading.Thread(target=_pump, args=(remote, client), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        client.close()
        forward.close()

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
