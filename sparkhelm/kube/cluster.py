"""The cluster a command works on: its connection, resolved once, and one client, with the reads sparkhelm makes.

Like pyhelm3's command object or kr8s's API object, one `Cluster` holds the connection for a whole
command (or a whole `api.run`): the kubeconfig is read once, one HTTP client is made once, and
every operation (pre-flight, install, follow, archive, delete) goes through it. Objects come back
as plain JSON dicts: listing 1000 driver pods is one request and one `json.loads`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sparkhelm.errors import EngineError, NotFoundError
from sparkhelm.kube.connection import Connection, KubeTarget, resolve
from sparkhelm.kube.resources import POD, kind

if TYPE_CHECKING:
    from sparkhelm.kube.client import Client

Obj = dict[str, Any]
#: How long a served API group/version, or an existing priority or ingress class, is believed without
#: asking again (kubectl keeps discovery 6 h). One removed meanwhile fails the install with the API
#: server's own error, and the install is undone; a "missing" answer is never kept.
CACHE_TTL = 600.0
#: A watch is reopened at least this often (a real API server ends watches after a few minutes anyway).
WATCH_WINDOW = 300.0


class Cluster:
    """A connection, resolved on first use and then kept, its one client, and every read sparkhelm makes.

    Resolution is deferred so that a command checks its input before it reads a kubeconfig: a bad
    value is reported as such even where no cluster is configured.
    """

    def __init__(self, source: KubeTarget | Connection) -> None:
        self._target = source if isinstance(source, KubeTarget) else None
        self._connection = source if isinstance(source, Connection) else None
        self._client: Client | None = None

    @classmethod
    def of(cls, kube: KubeTarget | Connection | Cluster | None) -> Cluster:
        """The cluster for what the caller gave: a target to resolve, a resolved connection, or a cluster to share."""
        if isinstance(kube, Cluster):
            return kube
        return cls(kube or KubeTarget())

    @property
    def connection(self) -> Connection:
        """The connection: the kubeconfig is read here, once."""
        if self._connection is None:
            assert self._target is not None
            self._connection = resolve(self._target)
        return self._connection

    @property
    def namespace(self) -> str:
        """The namespace commands work in (-n, else the context's, else default)."""
        return self.connection.namespace

    @property
    def server(self) -> str:
        """The API server's URL."""
        return self.connection.server

    @property
    def client(self) -> Client:
        """The HTTP client, made on first use (a dry run or a bad input never makes one)."""
        if self._client is None:
            from sparkhelm.kube.client import Client  # deferred: commands that render only never load it

            self._client = Client(self.connection)
        return self._client

    def in_namespace(self, namespace: str) -> Cluster:
        """The same cluster working in another namespace, sharing this one's connection details and client."""
        if namespace == self.namespace:
            return self
        other = Cluster(self.connection.with_namespace(namespace))
        other._client = self.client
        return other

    def close(self) -> None:
        """Close the client's connections."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # reads ------------------------------------------------------------------------------------

    def get(self, kind_name: str, name: str, namespace: str | None = None) -> Obj | None:
        """One object, or None when it does not exist (403 raises ForbiddenError)."""
        entry = kind(kind_name)
        where = (namespace or self.namespace) if entry.namespaced else None
        return self.client.get(entry.path(where, name))

    def objects(
        self, kind_name: str, selector: str, *, namespace: str | None = None, everywhere: bool = False,
        metadata_only: bool = False,
    ) -> list[Obj]:
        """Objects of a kind matching a label selector, in one LIST (every namespace with `everywhere`).

        With `metadata_only`, each object's metadata alone (see Client.list).
        """
        entry = kind(kind_name)
        where = None if everywhere or not entry.namespaced else (namespace or self.namespace)
        return self.client.list(entry.path(where), label_selector=selector, metadata_only=metadata_only)

    def pod(self, name: str, namespace: str | None = None) -> Obj | None:
        """The Pod, or None."""
        return self.get("Pod", name, namespace)

    def served_resources(self, group: str, version: str) -> set[str] | None:
        """Resources the API server serves in `group`/`version` (such as a CRD's), or None if it serves none.

        A positive answer is kept on disk for CACHE_TTL, as kubectl keeps discovery
        (~/.cache/sparkhelm/cluster/<server>/): repeated submissions do not ask again. A "not served"
        is never kept, so an API installed a minute later is seen at once.
        """
        key = f"apis_{group}_{version}"
        cached = _read_cache(self.server, key)
        if cached is not None:
            return {str(name) for name in cached}
        data = self.client.get(f"/apis/{group}/{version}")
        if data is None:
            return None
        served = {str(r.get("name")) for r in data.get("resources") or []}
        _write_cache(self.server, key, sorted(served))
        return served

    def cluster_object_exists(self, kind_name: str, name: str) -> bool:
        """Whether a cluster-scoped object (a PriorityClass, an IngressClass) exists; 403 raises ForbiddenError.

        Kept on disk like discovery when it does (classes are made once by admins and rarely removed);
        never when it does not, so one created a minute later is seen at once.
        """
        key = f"{kind_name}_{name}"
        if _read_cache(self.server, key) is not None:
            return True
        if self.get(kind_name, name) is None:
            return False
        _write_cache(self.server, key, True)
        return True

    # logs and watching ------------------------------------------------------------------------

    def log(
        self, pod: str, *, namespace: str | None = None, tail: int | None = None, container: str | None = None
    ) -> str:
        """The pod's log so far (the last `tail` lines when given)."""
        query = {}
        if tail is not None:
            query["tailLines"] = str(tail)
        if container:
            query["container"] = container
        return self.client.text(POD.path(namespace or self.namespace, pod, "log"), query=query)

    def follow_log(
        self, pod: str, *, deadline: float, namespace: str | None = None, container: str | None = None
    ) -> Iterator[str]:
        """The pod's log line by line as it is written, until the container ends or `deadline` (monotonic) passes."""
        query = {"follow": "true"}
        if container:
            query["container"] = container
        yield from self.client.stream_lines(
            POD.path(namespace or self.namespace, pod, "log"), query=query, deadline=deadline
        )

    def watch_pod(self, name: str, *, deadline: float, namespace: str | None = None) -> Iterator[Obj | None]:
        """The pod's states as they change (None once it is deleted), until `deadline` or the server ends the watch."""
        window = min(deadline, time.monotonic() + WATCH_WINDOW)
        query = {"watch": "true", "fieldSelector": f"metadata.name={name}", "allowWatchBookmarks": "false"}
        for event in self.client.watch(POD.path(namespace or self.namespace), query=query, deadline=window):
            kind_of_event = event.get("type")
            obj: Obj = event.get("object") or {}
            if kind_of_event == "ERROR":
                if obj.get("code") == 410:  # resource version too old: the caller re-reads and re-watches
                    return
                raise EngineError(f"watch pod {name}: {obj.get('message') or obj}")
            if kind_of_event == "BOOKMARK":
                continue
            yield None if kind_of_event == "DELETED" else obj

    def require_pod(self, name: str, what: str) -> Obj:
        """The Pod, or NotFoundError naming `what` and where to look."""
        found = self.pod(name)
        if found is None:
            raise NotFoundError(
                f"no {what} in namespace {self.namespace}; 'sparkhelm list -n {self.namespace}' shows the apps"
            )
        return found


def _cache_file(server: str, key: str) -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sparkhelm" / "cluster"
    return base / hashlib.sha256(server.encode()).hexdigest()[:16] / f"{key}.json"


def _read_cache(server: str, key: str) -> Any:
    """What `_write_cache` kept for the server under `key` less than CACHE_TTL ago, else None."""
    path = _cache_file(server, key)
    try:
        if time.time() - path.stat().st_mtime > CACHE_TTL:
            return None
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_cache(server: str, key: str, value: Any) -> None:
    path = _cache_file(server, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(value))
        scratch.replace(path)  # whole or not at all, whatever runs alongside
    except OSError:
        pass  # a cache that cannot be written only costs the next run a request
