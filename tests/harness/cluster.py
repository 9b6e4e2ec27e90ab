"""Run the emulator on a local port in a background thread and hand tests a kubeconfig for it."""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kmock import ResourceInfo, Server, resource

from tests.harness.emulator import ClusterEmulator, now
from tests.harness.kubelet import Kubelet

T = TypeVar("T")

RESOURCES = {
    "Namespace": resource("", "v1", "namespaces"),
    "Pod": resource("", "v1", "pods"),
    "Secret": resource("", "v1", "secrets"),
    "Event": resource("", "v1", "events"),
    "ConfigMap": resource("", "v1", "configmaps"),
    "Service": resource("", "v1", "services"),
    "ServiceAccount": resource("", "v1", "serviceaccounts"),
    "Ingress": resource("networking.k8s.io", "v1", "ingresses"),
    "IngressClass": resource("networking.k8s.io", "v1", "ingressclasses"),
    "NetworkPolicy": resource("networking.k8s.io", "v1", "networkpolicies"),
    "PriorityClass": resource("scheduling.k8s.io", "v1", "priorityclasses"),
    "Role": resource("rbac.authorization.k8s.io", "v1", "roles"),
    "RoleBinding": resource("rbac.authorization.k8s.io", "v1", "rolebindings"),
    "PodGroup": resource("scheduling.volcano.sh", "v1beta1", "podgroups"),
}


class RunningCluster:
    """An emulated API server with its event loop in a daemon thread."""

    def __init__(self, directory: Path, namespaces: tuple[str, ...] = ("default", "spark"),
                 version: tuple[str, str] = ("1", "37"), aggregated_discovery: bool = True) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="emulator", daemon=True)
        self._thread.start()
        self.emulator = ClusterEmulator(version=version, aggregated_discovery=aggregated_discovery)
        self.emulator.resources.load_bundled()
        self.kubelet = Kubelet(self.emulator)
        self._server = Server(self.emulator)
        self.call(self._enter())
        self.url = f"http://127.0.0.1:{self._server.port}"
        self.kubeconfig = directory / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(self.kubeconfig_dict("default")))
        for namespace in namespaces:
            self.add_namespace(namespace)

    def add_namespace(self, name: str) -> None:
        """A namespace with its `default` ServiceAccount, as the API server's controllers create it."""
        self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.seed({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}})

    def install_volcano(self) -> None:
        """Serve Volcano's PodGroup resource, as a cluster with the Volcano CRDs installed does."""
        self.emulator.resources[RESOURCES["PodGroup"]] = ResourceInfo(
            namespaced=True, kind="PodGroup", singular="podgroup",
            verbs={"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"},
            shortnames={"pg"},
        )

    def kubeconfig_dict(self, namespace: str) -> dict[str, Any]:
        """A kubeconfig for this server; the token is there so we can check it never reaches argv."""
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "emulator-secret-token"}}],
            "contexts": [
                {"name": "emulator", "context": {"cluster": "emulator", "user": "tester", "namespace": namespace}}
            ],
            "current-context": "emulator",
        }

    async def _enter(self) -> None:
        await self.emulator.__aenter__()
        await self._server.__aenter__()

    async def _exit(self) -> None:
        for task in list(self.kubelet.tasks):
            task.cancel()
        await self._server.__aexit__(None, None, None)
        await self.emulator.__aexit__(None, None, None)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the emulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        """Stop the server and its loop.

        aiohttp lets requests in flight (a watch a client still holds) finish for up to 60 s before it cuts
        them, so the wait here is longer than that.
        """
        self.call(self._exit(), timeout=90)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # objects ----------------------------------------------------------------------------------

    def seed(self, obj: dict[str, Any], *, quiet: bool = False) -> dict[str, Any]:
        """Create an object as if somebody had applied it (kind decides the resource).

        `quiet`: the simulated kubelet does not react (the object's status stays as given).
        """
        return self.seed_many([obj], quiet=quiet)[0]

    def seed_many(self, objs: list[dict[str, Any]], *, quiet: bool = False) -> list[dict[str, Any]]:
        """Create several objects in one trip to the emulator's loop."""
        objs = copy.deepcopy(objs)

        async def create() -> list[dict[str, Any]]:
            async with self.emulator._lock:
                for obj in objs:
                    res = RESOURCES[obj["kind"]]
                    meta = obj["metadata"]
                    namespaced = self.emulator._namespaced(res)
                    namespace = (meta.get("namespace") or "default") if namespaced else None
                    if namespaced:
                        meta["namespace"] = namespace
                    meta.setdefault("uid", f"uid-{namespace}-{meta['name']}")
                    meta.setdefault("creationTimestamp", now())
                    await self.emulator._store(res, namespace, obj, "ADDED", notify=not quiet)
            return objs

        return self.call(create())

    def get(self, kind: str, name: str, namespace: str | None = "default") -> dict[str, Any] | None:
        """The live object, or None."""
        res = RESOURCES[kind]

        async def read() -> dict[str, Any] | None:
            async with self.emulator._lock:
                ns = namespace if self.emulator._namespaced(res) else None
                found = self.emulator._live(res, ns, name)
                return copy.deepcopy(found)

        return self.call(read())

    def names(self, kind: str, namespace: str | None = "default") -> list[str]:
        """Names of the live objects of a kind (in a namespace)."""
        res = RESOURCES[kind]

        async def read() -> list[str]:
            async with self.emulator._lock:
                return sorted(
                    name
                    for (r, ns, name), obj in self.emulator._objects.items()
                    if r == res and not obj.deleted and (namespace is None or ns == namespace)
                )

        return self.call(read())

    def requests(self) -> list[tuple[str, str]]:
        """(method, path?query) of every request served so far."""
        return [(r.method.value, str(r.url.relative())) for r in list(self.emulator._requests)]

    def accepts(self) -> list[tuple[str, str, str]]:
        """(method, path?query, Accept header) of every request served so far."""
        return [(r.method.value, str(r.url.relative()), r.headers.get("Accept", "")) for r in list(self.emulator._requests)]

    def replace(self, obj: dict[str, Any]) -> None:
        """Overwrite a live object (tests use it to move time or state along)."""
        obj = copy.deepcopy(obj)
        res = RESOURCES[obj["kind"]]

        async def store() -> None:
            async with self.emulator._lock:
                await self.emulator._store(res, obj["metadata"].get("namespace"), obj, "MODIFIED")

        self.call(store())

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        """Poll until `predicate()` holds (the simulated kubelet works asynchronously)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.02)
