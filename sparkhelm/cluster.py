"""The one module that imports `kubernetes`: connect like kubectl does and read what sparkhelm needs.

Objects are returned as plain JSON dicts (`_preload_content=False`): listing 1000 driver pods then
costs one request and one `json.loads`, not 1000 model deserialisations. API errors become
sparkhelm errors with one actionable line: unreachable and unauthorised clusters exit 1,
forbidden reads raise `ForbiddenError` so callers can decide whether that is fatal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from sparkhelm.errors import EngineError, UserError
from sparkhelm.target import KubeTarget

T = TypeVar("T")
Obj = dict[str, Any]
IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class ForbiddenError(EngineError):
    """The API server refused a request (HTTP 403)."""


class NotFoundError(EngineError):
    """An app or object that was asked for by name does not exist."""


def _kubeconfig_location(target: KubeTarget) -> str:
    return target.kubeconfig or os.environ.get("KUBECONFIG") or str(Path("~/.kube/config").expanduser())


class Cluster:
    """A connection to the API server and the namespace commands work in."""

    def __init__(self, target: KubeTarget) -> None:
        self.target = target
        configuration = client.Configuration()
        location = _kubeconfig_location(target)
        context_namespace = None
        files = [Path(p).expanduser() for p in location.split(os.pathsep) if p]
        if any(f.is_file() for f in files):
            try:
                config.load_kube_config(
                    config_file=location, context=target.context, client_configuration=configuration
                )
                contexts, active = config.list_kube_config_contexts(config_file=location)
            except (config.ConfigException, ValueError) as exc:
                flag = "--kube-context" if target.context else "--kubeconfig / KUBECONFIG"
                raise UserError(f"{flag}: cannot use kubeconfig {location}: {exc}") from None
            chosen = next((c for c in contexts if c["name"] == target.context), active) if target.context else active
            context_namespace = (chosen or {}).get("context", {}).get("namespace")
        elif os.environ.get("KUBERNETES_SERVICE_HOST") and not target.kubeconfig:
            config.load_incluster_config(client_configuration=configuration)
            if IN_CLUSTER_NAMESPACE.is_file():
                context_namespace = IN_CLUSTER_NAMESPACE.read_text().strip()
        else:
            raise UserError(f"--kubeconfig / KUBECONFIG: no kubeconfig at {location}; point KUBECONFIG at one")
        configuration.retries = 1  # an unreachable cluster should fail in seconds, not after urllib3's backoff
        self.server: str = configuration.host
        self.namespace: str = target.namespace or context_namespace or "default"
        self.api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self.api)

    # errors -----------------------------------------------------------------------------------

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the API; translate transport and HTTP errors into sparkhelm errors naming `what`."""
        try:
            return fn(*args, **kwargs)
        except (ApiException, Urllib3Error, OSError) as exc:
            raise self.error(what, exc) from None

    def error(self, what: str, exc: Exception) -> EngineError:
        """The sparkhelm error for an API or transport failure while doing `what`."""
        if isinstance(exc, ApiException):
            message = _api_message(exc)
            if exc.status == 403:
                return ForbiddenError(f"{what}: forbidden: {message}")
            if exc.status == 401:
                return EngineError(f"{what}: the cluster at {self.server} rejected the credentials; log in again")
            if exc.status == 404:
                return NotFoundError(f"{what}: not found: {message}")
            return EngineError(f"{what}: the API server answered {exc.status}: {message}")
        reason = str(getattr(exc, "reason", None) or exc).split(": ")[-1]
        return EngineError(
            f"cannot reach the Kubernetes API at {self.server} ({reason}); "
            "check KUBECONFIG, --kubeconfig or --kube-context"
        )

    def _json(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Obj:
        response = self.call(what, fn, *args, _preload_content=False, **kwargs)
        data: Obj = json.loads(response.data)
        return data

    def get_or_none(self, what: str, fn: Callable[..., Any], *args: Any) -> Obj | None:
        """The object, or None when it does not exist (a 403 still raises ForbiddenError)."""
        try:
            return self._json(what, fn, *args)
        except NotFoundError:
            return None

    # reads ------------------------------------------------------------------------------------

    def namespace_object(self, name: str) -> Obj | None:
        """The Namespace, or None if it does not exist."""
        return self.get_or_none(f"namespace {name}", self.core.read_namespace, name)

    def service_account(self, name: str, namespace: str) -> Obj | None:
        """The ServiceAccount, or None."""
        return self.get_or_none(f"service account {name}", self.core.read_namespaced_service_account, name, namespace)

    def priority_class(self, name: str) -> Obj | None:
        """The PriorityClass, or None."""
        api = client.SchedulingV1Api(self.api)
        return self.get_or_none(f"priority class {name}", api.read_priority_class, name)

    def ingress_class(self, name: str) -> Obj | None:
        """The IngressClass, or None."""
        api = client.NetworkingV1Api(self.api)
        return self.get_or_none(f"ingress class {name}", api.read_ingress_class, name)

    def ingress(self, name: str, namespace: str) -> Obj | None:
        """The Ingress, or None."""
        api = client.NetworkingV1Api(self.api)
        return self.get_or_none(f"ingress {name}", api.read_namespaced_ingress, name, namespace)

    def served_resources(self, group: str, version: str) -> set[str] | None:
        """Resources the API server serves in `group`/`version` (such as a CRD's), or None if it serves none."""
        api = client.CustomObjectsApi(self.api)
        try:
            data = self._json(f"API {group}/{version}", api.get_api_resources, group, version)
        except NotFoundError:
            return None
        return {str(r.get("name")) for r in data.get("resources") or []}

    def pod(self, name: str, namespace: str) -> Obj | None:
        """The Pod, or None."""
        return self.get_or_none(f"pod {name}", self.core.read_namespaced_pod, name, namespace)

    def pods(self, selector: str, namespace: str | None) -> list[Obj]:
        """Pods matching a label selector, in one LIST call (`namespace=None`: all namespaces)."""
        if namespace is None:
            found = self._json("list pods", self.core.list_pod_for_all_namespaces, label_selector=selector)
        else:
            found = self._json("list pods", self.core.list_namespaced_pod, namespace, label_selector=selector)
        items: list[Obj] = found.get("items") or []
        return items

    def secrets(self, selector: str, namespace: str) -> list[Obj]:
        """Secrets matching a label selector (Helm's release records are `owner=helm`)."""
        found = self._json("list secrets", self.core.list_namespaced_secret, namespace, label_selector=selector)
        items: list[Obj] = found.get("items") or []
        return items

    def can_i(self, verb: str, group: str, resource: str, namespace: str) -> tuple[bool, str]:
        """A SelfSubjectAccessReview: may the caller `verb` `resource` in `namespace`?"""
        api = client.AuthorizationV1Api(self.api)
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {"verb": verb, "group": group, "resource": resource, "namespace": namespace}
            },
        }
        review = self._json(f"access review for {verb} {resource}", api.create_self_subject_access_review, body)
        status = review.get("status") or {}
        return bool(status.get("allowed")), str(status.get("reason") or "")

    # logs and watching ------------------------------------------------------------------------

    def log(self, pod: str, namespace: str, *, tail: int | None = None, container: str | None = None) -> str:
        """The pod's log so far (the last `tail` lines when given)."""
        kwargs: dict[str, Any] = {"_preload_content": False}
        if tail is not None:
            kwargs["tail_lines"] = tail
        if container:
            kwargs["container"] = container
        response: Any = self.call(f"logs of pod {pod}", self.core.read_namespaced_pod_log, pod, namespace, **kwargs)
        return str(response.data.decode(errors="replace"))

    def follow_log(self, pod: str, namespace: str, *, container: str | None = None) -> Iterator[str]:
        """The pod's log line by line as it is written, until the container ends."""
        kwargs: dict[str, Any] = {"follow": True, "_preload_content": False}
        if container:
            kwargs["container"] = container
        response: Any = self.call(f"logs of pod {pod}", self.core.read_namespaced_pod_log, pod, namespace, **kwargs)
        pending = b""
        try:
            for chunk in response.stream(amt=65536, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
            if pending:
                yield pending.decode(errors="replace")
        except (Urllib3Error, OSError):
            return  # the connection ended with the container; the caller reads the final status
        finally:
            response.release_conn()

    def watch_pod(self, name: str, namespace: str, timeout: float) -> Iterator[Obj | None]:
        """The pod's states as they change (None once it is deleted), for at most `timeout` seconds.

        Events stay JSON (`deserialize=False`): the client's strict models reject pods that real
        kubelets write with null fields, and a watch must not die on them.
        """
        watcher = watch.Watch()
        stream = watcher.stream(
            self.core.list_namespaced_pod,
            namespace,
            field_selector=f"metadata.name={name}",
            timeout_seconds=max(int(timeout), 1),
            _request_timeout=timeout + 5,
            deserialize=False,
        )
        try:
            for event in stream:
                kind = event.get("type")
                obj: Obj = event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:  # resource version too old: the caller re-reads and re-watches
                        return
                    raise EngineError(f"watch pod {name}: {obj.get('message') or obj}")
                yield None if kind == "DELETED" else obj
        except ApiException as exc:
            if exc.status in (401, 403, 404):
                raise self.error(f"watch pod {name}", exc) from None
            return
        except (Urllib3Error, OSError):
            return  # a dropped watch is reopened by the caller
        finally:
            watcher.stop()

    def port_forward(self, pod: str, namespace: str, port: int) -> Any:
        """A socket connected to `port` of the pod, through the API server (like kubectl port-forward)."""
        from kubernetes.stream import portforward

        forward = self.call(
            f"port-forward to pod {pod}",
            portforward,
            self.core.connect_get_namespaced_pod_portforward,
            pod,
            namespace,
            ports=str(port),
        )
        return forward


def _api_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    return str(body.get("message") or exc.reason or exc.status)
