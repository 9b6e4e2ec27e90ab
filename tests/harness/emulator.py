"""kmock's KubernetesEmulator, completed where sparkhelm's requests need a real API server's behaviour.

kmock 0.8 stores objects and serves discovery, but a real API server also: filters LIST and WATCH
by label and field selectors, replaces objects on PUT, creates on a server-side apply, rejects
objects in a namespace that does not exist, stamps uid / resourceVersion / creationTimestamp,
garbage-collects dependents through ownerReferences, answers SelfSubjectAccessReviews, serves pod
logs (following them until the container ends) and port-forwards over a websocket. Each of those
is added here on top of kmock's object store and watch bus, so the `kubernetes` client and Helm's
Go SDK see realistic answers and every request is recorded in `emu.requests`.

The real `kubectl`, `helm` and `helmfile` binaries ask for more (section "real clients" at the end):
watch streams typed application/json that end after `timeoutSeconds`, replay from a resourceVersion
and announce the end of WatchList's initial events with a bookmark; Table responses for `kubectl
get`; aggregated discovery and subresources without categories; Services with a cluster IP.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import datetime
import itertools
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import aiohttp.web
import attrs
from kmock import KubernetesEmulator, resource
from kmock._internal import aiobus, enums, parsing, rendering

from tests.harness import discovery, openapi, protobuf, tables

PODS = resource("", "v1", "pods")
NAMESPACES = resource("", "v1", "namespaces")
SERVICES = resource("", "v1", "services")
SSAR = resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
SSRR = resource("authorization.k8s.io", "v1", "selfsubjectrulesreviews")
#: The verbs an RBAC rule names (what a rules review lists per resource).
RULE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
LOG_POLL_SECONDS = 0.02


def now() -> str:
    """An RFC 3339 timestamp as the API server writes it."""
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code: int, reason: str, message: str, **details: Any) -> aiohttp.web.Response:
    body = {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return aiohttp.web.json_response(body, status=code)


# --- paths -------------------------------------------------------------------------------------

_kmock_parse_path = parsing.parse_path
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}


def parse_path(path: str) -> parsing.ParsedPath:
    """kmock's path parser, except for the Namespace resource itself.

    kmock reads `/api/v1/namespaces` as a namespace with no name (and crashes) and
    `/api/v1/namespaces/x` as "namespace x, no resource"; the API server means the namespaces.
    """
    parts = path.strip("/").split("/")
    if parts[:3] == ["api", "v1", "namespaces"] and (
        len(parts) <= 4 or (len(parts) == 5 and parts[4] in _NAMESPACE_SUBRESOURCES)
    ):
        name = parts[3] if len(parts) > 3 else None
        sub = parts[4] if len(parts) > 4 else None
        return parsing.ParsedPath("", "v1", "namespaces", None, name, sub)
    return _kmock_parse_path(path)


parsing.parse_path = parse_path  # the harness's own server: rendering calls parsing.parse_path
_kmock_parse_request = rendering.Request._parse


async def _parse_request(raw_request: aiohttp.web.BaseRequest, *, id: int = 0) -> rendering.Request:  # noqa: A002
    """kmock's request parser, except that protobuf bodies are decoded instead of read as UTF-8 text."""
    body = await raw_request.read()
    if not body.startswith(protobuf.MAGIC):
        return await _kmock_parse_request(raw_request, id=id)
    k8s = parsing.parse_path(raw_request.path)
    method = enums.method(raw_request.method)
    return rendering.Request(
        id=id,
        raw_request=raw_request,
        url=raw_request.url,
        method=raw_request.method,
        params=dict(raw_request.query),
        headers=dict(raw_request.headers),
        cookies=dict(raw_request.cookies),
        data=protobuf.decode(body),
        body=body,
        text="",
        action=parsing.guess_k8s(k8s, method, dict(raw_request.query)),
        resource=resource(group=k8s.group, version=k8s.version, plural=k8s.plural),
        namespace=k8s.namespace,
        name=k8s.name,
        subresource=k8s.subresource,
    )


rendering.Request._parse = staticmethod(_parse_request)  # type: ignore[method-assign,assignment]


# --- selectors ---------------------------------------------------------------------------------

_SET_RULE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(selector: str) -> list[str]:
    """Split on commas that are not inside `in (...)` sets."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def label_matcher(selector: str) -> Callable[[dict[str, str]], bool]:
    """A predicate for a Kubernetes label selector (equality- and set-based)."""
    rules: list[Callable[[dict[str, str]], bool]] = []
    for part in _split_selector(selector):
        if match := _SET_RULE.match(part):
            key, op, raw = match.groups()
            values = {v.strip() for v in raw.split(",") if v.strip()}
            if op == "in":
                rules.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                rules.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif "!=" in part:
            key, value = (s.strip() for s in part.split("!=", 1))
            rules.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in part:
            key, value = (s.strip() for s in part.replace("==", "=").split("=", 1))
            rules.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif part.startswith("!"):
            rules.append(lambda labels, k=part[1:].strip(): k not in labels)
        else:
            rules.append(lambda labels, k=part: k in labels)
    return lambda labels: all(rule(labels) for rule in rules)


def _field(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part, {}) if isinstance(value, dict) else {}
    return "" if value == {} else str(value)


def field_matcher(selector: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate for a field selector (`metadata.name=x,status.phase!=Running`)."""
    rules: list[Callable[[dict[str, Any]], bool]] = []
    for part in _split_selector(selector):
        if "!=" in part:
            path, value = part.split("!=", 1)
            rules.append(lambda obj, p=path.strip(), v=value.strip(): _field(obj, p) != v)
        else:
            path, value = part.replace("==", "=").split("=", 1)
            rules.append(lambda obj, p=path.strip(), v=value.strip(): _field(obj, p) == v)
    return lambda obj: all(rule(obj) for rule in rules)


def _matcher(params: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    labels = label_matcher(params.get("labelSelector", ""))
    fields = field_matcher(params.get("fieldSelector", ""))
    return lambda obj: labels(obj.get("metadata", {}).get("labels") or {}) and fields(obj)


# --- merging -----------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (also used for strategic merge and apply: close enough here)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- the emulator ------------------------------------------------------------------------------


@attrs.define(kw_only=True)
class ClusterEmulator(KubernetesEmulator):
    """The API server of the tests. See the module docstring for what it adds to kmock."""

    #: Pod logs by (namespace, pod name); appended to while a simulated container runs.
    logs: dict[tuple[str, str], str] = attrs.field(factory=dict)
    #: SelfSubjectAccessReview denials: (verb, resource, namespace) tuples; "*" matches any.
    denied: set[tuple[str, str, str]] = attrs.field(factory=set)
    #: Resources whose creation an admission webhook rejects (plural names): a failure RBAC cannot predict.
    rejected: set[str] = attrs.field(factory=set)
    #: Where a port-forward to (namespace, pod, port) really connects: a local (host, port).
    forwards: dict[tuple[str, str, int], tuple[str, int]] = attrs.field(factory=dict)
    #: Called after every stored change (the simulated kubelet reacts to new driver pods).
    on_change: list[Callable[[str, resource, dict[str, Any]], None]] = attrs.field(factory=list)
    #: the Kubernetes version it reports (/version) and whose OpenAPI schemas it serves
    version: tuple[str, str] = ("1", "37")
    #: serve aggregated discovery (apidiscovery.k8s.io/v2) as API servers do since 1.30
    aggregated_discovery: bool = True
    #: watch events kept per resource for watches that resume from a resourceVersion
    _buses: dict[resource, aiobus.Bus[Any]] = attrs.field(factory=lambda: collections.defaultdict(HistoryBus))
    _cluster_ips: itertools.count[int] = attrs.field(factory=lambda: itertools.count(10))
    _node_ports: itertools.count[int] = attrs.field(factory=lambda: itertools.count(30000))
    #: owner uid -> keys of the objects that name it in ownerReferences (the garbage collector's index)
    _dependents: dict[str, set[tuple[resource, str | None, str]]] = attrs.field(factory=dict)
    _rv: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))

    # discovery fixes --------------------------------------------------------------------------

    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        """kmock answers `/api/v1` with groupVersion "/v1"; client-go then maps no core kinds."""
        payload = await super()._serve_version(request)
        assert isinstance(payload, dict)
        payload["groupVersion"] = payload["groupVersion"].lstrip("/")
        return discovery.fix_resource_list(payload)

    async def _serve_server_version(self, request: rendering.Request) -> rendering.Payload:
        major, minor = self.version
        return {"major": major, "minor": minor, "gitVersion": f"v{major}.{minor}.0", "platform": "linux/amd64"}

    async def _serve_apis(self, request: rendering.Request) -> rendering.Payload:
        """kmock picks a group's preferred version at random among its versions; a server picks the best."""
        payload = await super()._serve_apis(request)
        assert isinstance(payload, dict)
        for group in payload["groups"]:
            group["versions"].sort(key=lambda v: discovery.version_priority(v["version"]))
            group["preferredVersion"] = group["versions"][0]
        return payload

    # dispatch ---------------------------------------------------------------------------------

    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        path = request.url.path
        if path == "/openapi/v3" or path.startswith("/openapi/v3/"):
            return self._serve_openapi(path)
        if path in ("/api", "/apis") and self.aggregated_discovery and request.method.value == "GET" \
                and discovery.accepts_aggregated(request.headers.get("Accept", "")):
            return self._serve_aggregated_discovery(core=path == "/api")
        res = request.resource
        if res is None or res.plural is None:
            return await super()._handle(request)
        if res not in self._resources:
            return _status(404, "NotFound", f"the server could not find the requested resource ({res.plural})")
        method = request.method.value
        verb = self._verb(request)
        if self._is_denied(verb, res.plural, request.namespace or ""):
            group = res.group
            where = f' in the namespace "{request.namespace}"' if request.namespace else ""
            return _status(
                403,
                "Forbidden",
                f'{res.plural}{"." + group if group else ""} is forbidden: User "tester" cannot {verb} resource '
                f'"{res.plural}" in API group "{group}"{where}',
            )
        if request.subresource == "log" and method == "GET":
            return await self._serve_log(request)
        if request.subresource == "portforward":
            return await self._serve_portforward(request)
        if res == SSAR and method == "POST":
            return self._review(self._body(request))
        if res == SSRR and method == "POST":
            return self._rules_review(self._body(request))
        if method == "GET" and request.params.get("watch") in ("true", "1"):
            if request.headers.get("Upgrade", "").lower() == "websocket":
                return await self._serve_watch_websocket(request)
            return await self._serve_watch_http(request)
        async with self._lock:
            if method == "GET" and tables.wants_table(request.headers.get("Accept", "")):
                return self._serve_table(request)
            if method == "GET":
                return self._get(request) if request.name else self._list(request)
            if method == "POST":
                return await self._create(res, request.namespace, self._body(request))
            if method == "PUT":
                return await self._replace(request, self._body(request))
            if method == "PATCH":
                return await self._patch(request)
            if method == "DELETE":
                return await (self._delete_one(request) if request.name else self._delete_collection(request))
        return _status(405, "MethodNotAllowed", f"{method} is not supported by the emulator")

    # helpers ----------------------------------------------------------------------------------

    @staticmethod
    def _verb(request: rendering.Request) -> str:
        method = request.method.value
        if method == "GET":
            if request.params.get("watch") in ("true", "1"):
                return "watch"
            return "get" if request.name else "list"
        if method == "DELETE":
            return "delete" if request.name else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())

    def _is_denied(self, verb: str, plural: str, namespace: str) -> bool:
        wanted = (verb, plural, namespace)
        return any(
            all(rule in ("*", value) for rule, value in zip(denial, wanted, strict=True)) for denial in self.denied
        )

    @staticmethod
    def _body(request: rendering.Request) -> dict[str, Any]:
        if request.body.startswith(protobuf.MAGIC):
            return protobuf.decode(request.body)
        if not request.body:
            return {}
        data: dict[str, Any] = json.loads(request.body)
        return data

    def _namespaced(self, res: resource) -> bool:
        return bool(self._resources[res].namespaced)

    def _live(self, res: resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        key = (res, namespace, name)
        if key not in self._objects or self._objects[key].deleted:
            return None
        raw: dict[str, Any] = self._objects[key].raw
        return raw

    def _not_found(self, res: resource, name: str) -> aiohttp.web.Response:
        kind = res.plural if res.group == "" else f"{res.plural}.{res.group}"
        return _status(404, "NotFound", f'{kind} "{name}" not found', name=name, kind=res.plural)

    async def _store(
        self, res: resource, namespace: str | None, obj: dict[str, Any], event: str, *, notify: bool = True
    ) -> None:
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        key = (res, namespace, obj["metadata"]["name"])
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("uid"):
                self._dependents.setdefault(ref["uid"], set()).add(key)
        if key not in self._objects:
            self._objects[key] = obj
        else:
            self._objects[key].create(obj)
        await self._buses[res].put({"type": event, "object": copy.deepcopy(obj)})
        for callback in self.on_change if notify else ():
            callback(event, res, obj)

    async def _remove(self, res: resource, namespace: str | None, name: str) -> dict[str, Any]:
        key = (res, namespace, name)
        obj: dict[str, Any] = self._objects[key].raw
        self._objects[key].delete()
        obj["metadata"]["resourceVersion"] = str(next(self._rv))  # a deletion is a new version too
        await self._buses[res].put({"type": "DELETED", "object": obj})
        for callback in self.on_change:
            callback("DELETED", res, obj)
        await self._collect_garbage(obj["metadata"].get("uid"))
        if res == NAMESPACES:
            for other, ns, other_name in list(self._objects):
                if ns == name and self._live(other, ns, other_name) is not None:
                    await self._remove(other, ns, other_name)
        return obj

    async def _collect_garbage(self, owner_uid: str | None) -> None:
        """Delete what the removed object owned, as the garbage collector does."""
        for res, ns, name in sorted(self._dependents.pop(owner_uid or "", set()), key=str):
            obj = self._live(res, ns, name)
            refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
            if any(ref.get("uid") == owner_uid for ref in refs):
                await self._remove(res, ns, name)

    # verbs ------------------------------------------------------------------------------------

    def _get(self, request: rendering.Request) -> aiohttp.web.Response:
        assert request.resource is not None and request.name is not None
        obj = self._live(request.resource, request.namespace, request.name)
        if obj is None:
            return self._not_found(request.resource, request.name)
        return aiohttp.web.json_response(obj)

    def _select(self, request: rendering.Request) -> list[dict[str, Any]]:
        matches = _matcher(request.params)
        found = []
        for (res, ns, _name), obj in self._objects.items():
            if res != request.resource or obj.deleted:
                continue
            if request.namespace is not None and ns != request.namespace:
                continue
            raw = obj.raw
            if matches(raw):
                found.append(raw)
        return found

    def _list(self, request: rendering.Request) -> aiohttp.web.Response:
        assert request.resource is not None
        info = self._resources[request.resource]
        kind = (info.kind or request.resource.plural or "").strip()
        api_version = (
            request.resource.version
            if not request.resource.group
            else (f"{request.resource.group}/{request.resource.version}")
        )
        items = self._select(request)
        items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        if tables.wants_metadata_list(request.headers.get("Accept", "")):
            return aiohttp.web.json_response(tables.metadata_list(items, resource_version=str(next(self._rv))))
        return aiohttp.web.json_response(
            {
                "apiVersion": api_version,
                "kind": f"{kind}List",
                "metadata": {"resourceVersion": str(next(self._rv))},
                "items": items,
            }
        )

    async def _create(self, res: resource, namespace: str | None, obj: dict[str, Any]) -> aiohttp.web.Response:
        meta = obj.setdefault("metadata", {})
        if res.plural in self.rejected:
            return _status(
                400,
                "BadRequest",
                f'admission webhook "policy.example.com" denied the request: {res.plural} are not allowed here',
            )
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            return _status(422, "Invalid", "metadata.name: Required value")
        if self._namespaced(res):
            namespace = namespace or meta.get("namespace")
            if self._live(NAMESPACES, None, namespace or "") is None:
                return _status(
                    404, "NotFound", f'namespaces "{namespace}" not found', name=namespace, kind="namespaces"
                )
            meta["namespace"] = namespace
        else:
            namespace = None
        if self._live(res, namespace, name) is not None:
            return _status(409, "AlreadyExists", f'{res.plural} "{name}" already exists', name=name)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        if res == PODS:
            obj.setdefault("status", {"phase": "Pending"})
        self._default_on_create(res, obj)
        await self._store(res, namespace, obj, "ADDED")
        if self._orphaned(obj):
            asyncio.get_running_loop().create_task(self._collect_orphan(res, namespace, name, meta["uid"]))
        return aiohttp.web.json_response(obj, status=201)

    def _orphaned(self, obj: dict[str, Any]) -> bool:
        """Whether every owner an object names is gone (e.g. a pod its owner created while being deleted)."""
        owners = {ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("uid")}
        if not owners:
            return False
        live = {o.raw["metadata"].get("uid") for o in self._objects.values() if not o.deleted}
        return not owners & live

    async def _collect_orphan(self, res: resource, namespace: str | None, name: str, uid: str) -> None:
        """The garbage collector deletes a dependent whose owners no longer exist, as it does for the others."""
        async with self._lock:
            obj = self._live(res, namespace, name)
            if obj is not None and obj["metadata"].get("uid") == uid and self._orphaned(obj):
                await self._remove(res, namespace, name)

    async def _replace(self, request: rendering.Request, obj: dict[str, Any]) -> aiohttp.web.Response:
        assert request.resource is not None and request.name is not None
        current = self._live(request.resource, request.namespace, request.name)
        if current is None:
            return self._not_found(request.resource, request.name)
        meta = obj.setdefault("metadata", {})
        for kept in ("uid", "creationTimestamp", "namespace"):
            if kept in current["metadata"]:
                meta[kept] = current["metadata"][kept]
        self._keep_allocated(request.resource, current, obj)
        await self._store(request.resource, request.namespace, obj, "MODIFIED")
        return aiohttp.web.json_response(obj)

    async def _patch(self, request: rendering.Request) -> aiohttp.web.Response:
        assert request.resource is not None and request.name is not None
        content_type = request.headers.get("Content-Type", "")
        patch = self._body(request)
        current = self._live(request.resource, request.namespace, request.name)
        if current is None:
            if "apply-patch" in content_type:  # server-side apply creates what does not exist
                if self._is_denied("create", request.resource.plural or "", request.namespace or ""):
                    return _status(
                        403,
                        "Forbidden",
                        f'{request.resource.plural} is forbidden: User "tester" '
                        f'cannot create resource "{request.resource.plural}"',
                    )
                patch.setdefault("metadata", {})["name"] = request.name
                return await self._create(request.resource, request.namespace, patch)
            return self._not_found(request.resource, request.name)
        if "json-patch+json" in content_type:
            return _status(415, "UnsupportedMediaType", "the emulator does not apply RFC 6902 JSON patches")
        merged = merge_patch(current, patch)
        merged["metadata"]["name"] = request.name
        await self._store(request.resource, request.namespace, merged, "MODIFIED")
        return aiohttp.web.json_response(merged)

    async def _delete_one(self, request: rendering.Request) -> aiohttp.web.Response:
        assert request.resource is not None and request.name is not None
        if self._live(request.resource, request.namespace, request.name) is None:
            return self._not_found(request.resource, request.name)
        obj = await self._remove(request.resource, request.namespace, request.name)
        return aiohttp.web.json_response(obj)

    async def _delete_collection(self, request: rendering.Request) -> aiohttp.web.Response:
        assert request.resource is not None
        items = [(obj["metadata"].get("namespace"), obj["metadata"]["name"]) for obj in self._select(request)]
        for namespace, name in items:
            # Deleting one may garbage-collect another of the same selection (an owner and its dependents).
            if self._live(request.resource, namespace, name) is not None:
                await self._remove(request.resource, namespace, name)
        return aiohttp.web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Success"})

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:  # pragma: no cover
        raise AssertionError("LIST is served by ClusterEmulator._list")

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        """kmock's watch entry point, answered by the emulator's own watch (see _watch_events)."""
        yield b""
        async for event in self._watch_events(request, lambda: False):
            yield event

    async def _serve_watch_websocket(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """A watch over a websocket, one JSON event per text message: fabric8 (Spark's client) watches so."""
        ws = aiohttp.web.WebSocketResponse()
        await ws.prepare(request._raw_request)
        try:
            async for event in self._watch_events(request, lambda: ws.closed):
                await ws.send_str(json.dumps(event))
        except ConnectionError:  # the client went away
            pass
        return ws

    # access reviews ---------------------------------------------------------------------------

    def _review(self, review: dict[str, Any]) -> aiohttp.web.Response:
        attrs_ = review.get("spec", {}).get("resourceAttributes", {})
        denied = self._is_denied(attrs_.get("verb", ""), attrs_.get("resource", ""), attrs_.get("namespace", ""))
        review["status"] = {"allowed": not denied}
        if denied:
            review["status"]["reason"] = "denied by the test's RBAC"
        review.setdefault("apiVersion", "authorization.k8s.io/v1")
        review.setdefault("kind", "SelfSubjectAccessReview")
        return aiohttp.web.json_response(review, status=201)

    def _rules_review(self, review: dict[str, Any]) -> aiohttp.web.Response:
        """A SelfSubjectRulesReview as the RBAC authorizer answers it: every (verb, resource) the caller may use
        in the namespace. Without denials that is one wildcard rule; with them, one rule per resource and API
        group listing the verbs not denied (RBAC has no deny: the test's denials are grants left out)."""
        namespace = review.get("spec", {}).get("namespace", "")
        if not self.denied:
            rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        else:
            rules = []
            for res in sorted(self._resources, key=str):
                if not res.plural or "/" in res.plural:
                    continue
                verbs = [verb for verb in RULE_VERBS if not self._is_denied(verb, res.plural, namespace)]
                if verbs:
                    rules.append({"verbs": verbs, "apiGroups": [res.group or ""], "resources": [res.plural]})
        review["status"] = {"resourceRules": rules, "nonResourceRules": [], "incomplete": False}
        review.setdefault("apiVersion", "authorization.k8s.io/v1")
        review.setdefault("kind", "SelfSubjectRulesReview")
        return aiohttp.web.json_response(review, status=201)

    # logs -------------------------------------------------------------------------------------

    def _pod_done(self, namespace: str, name: str) -> bool:
        pod = self._live(PODS, namespace, name)
        return pod is None or pod.get("status", {}).get("phase") in ("Succeeded", "Failed")

    async def _serve_log(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        namespace, name = request.namespace or "", request.name or ""
        if self._live(PODS, namespace, name) is None:
            return self._not_found(PODS, name)
        pod = self._live(PODS, namespace, name) or {}
        if pod.get("status", {}).get("phase") == "Pending" and (namespace, name) not in self.logs:
            container = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("name", "")
            return _status(
                400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating'
            )
        text = self.logs.get((namespace, name), "")
        if "tailLines" in request.params:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-int(request.params["tailLines"]) :]) if int(request.params["tailLines"]) else ""
        if request.params.get("follow") not in ("true", "1"):
            return aiohttp.web.Response(text=text, content_type="text/plain")
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request._raw_request)
        await response.write(text.encode())
        sent = len(self.logs.get((namespace, name), ""))
        while True:
            done = self._pod_done(namespace, name)
            current = self.logs.get((namespace, name), "")
            if len(current) > sent:
                await response.write(current[sent:].encode())
                sent = len(current)
            if done:
                break
            await asyncio.sleep(LOG_POLL_SECONDS)
        await response.write_eof()
        return response

    # port-forward -----------------------------------------------------------------------------

    async def _serve_portforward(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """The v4.channel.k8s.io websocket protocol: channel 0 data, 1 errors, port in the first frames."""
        namespace, name = request.namespace or "", request.name or ""
        if self._live(PODS, namespace, name) is None:
            return self._not_found(PODS, name)
        port = int(request.params.get("ports", "0"))
        target = self.forwards.get((namespace, name, port))
        ws = aiohttp.web.WebSocketResponse(protocols=("v4.channel.k8s.io",))
        await ws.prepare(request._raw_request)
        port_bytes = port.to_bytes(2, "little")
        await ws.send_bytes(b"\x00" + port_bytes)
        await ws.send_bytes(b"\x01" + port_bytes)
        if target is None:
            await ws.send_bytes(b"\x01" + f"error forwarding port {port}: connection refused".encode())
            await ws.close()
            return ws
        reader, writer = await asyncio.open_connection(*target)

        async def upstream() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY and message.data[:1] == b"\x00":
                    writer.write(message.data[1:])
                    await writer.drain()
            writer.close()

        async def downstream() -> None:
            while chunk := await reader.read(65536):
                await ws.send_bytes(b"\x00" + chunk)
            await ws.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)
        return ws

    # openapi ----------------------------------------------------------------------------------

    def _serve_openapi(self, path: str) -> aiohttp.web.Response:
        kinds: dict[tuple[str, str], list[tuple[str, str, bool]]] = {}
        for res in self._resources:
            info = self._resources[res]
            if res.plural and info.kind and res.version:
                kinds.setdefault((res.group or "", res.version), []).append(
                    (info.kind, res.plural, bool(info.namespaced))
                )
        if path == "/openapi/v3":
            return aiohttp.web.json_response(openapi.index(list(kinds)))
        wanted = path.removeprefix("/openapi/v3/")
        for (group, version), entries in kinds.items():
            if openapi.group_version_path(group, version) == wanted:
                body = openapi.document(group, version, tuple(sorted(entries)), openapi.schema_version(self.version))
                return aiohttp.web.Response(body=body, content_type="application/json")
        return _status(404, "NotFound", f"no OpenAPI document for {wanted}")

    # --- real clients (kubectl, helm, helmfile) -------------------------------------------------
    # What the real binaries need beyond what the Python client and the embedded engine ask for.

    def _serve_aggregated_discovery(self, *, core: bool) -> aiohttp.web.Response:
        """`/api` or `/apis` as one APIGroupDiscoveryList: every group, version and resource at once."""
        listed = [
            (res.group or "", res.version or "", res.plural, self._resources[res])
            for res in self._get_resources()
            if res.plural and res.version and res in self._resources
        ]
        body = discovery.aggregated(listed, core=core)
        return aiohttp.web.Response(body=json.dumps(body).encode(), headers={"Content-Type": discovery.AGGREGATED_V2})

    def _serve_table(self, request: rendering.Request) -> aiohttp.web.Response:
        """A GET or LIST answered as a meta.k8s.io/v1 Table (what `kubectl get` prints)."""
        assert request.resource is not None
        kind = self._resources[request.resource].kind or ""
        if request.name:
            obj = self._live(request.resource, request.namespace, request.name)
            if obj is None:
                return self._not_found(request.resource, request.name)
            objs = [obj]
        else:
            objs = sorted(self._select(request), key=lambda o: (o["metadata"].get("namespace", ""),
                                                               o["metadata"]["name"]))
        body = tables.table(kind, objs, resource_version=str(next(self._rv)),
                            include=request.params.get("includeObject", "Metadata"))
        return aiohttp.web.json_response(body)

    def _default_on_create(self, res: resource, obj: dict[str, Any]) -> None:
        """Fields the API server fills in on create: a Service's cluster IP and node ports, a Namespace's phase.

        Helm 3 `--wait` treats a Service without a clusterIP as not ready (and waits for its timeout).
        """
        if res == NAMESPACES:
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj.setdefault("status", {}).setdefault("phase", "Active")
        if res != SERVICES:
            return
        spec = obj.setdefault("spec", {})
        kind = spec.setdefault("type", "ClusterIP")
        if kind != "ExternalName":
            if not spec.get("clusterIP"):
                number = next(self._cluster_ips)
                spec["clusterIP"] = f"10.96.{number // 256}.{number % 256}"
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("sessionAffinity", "None")
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if kind in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
                port["nodePort"] = next(self._node_ports)
        if kind in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        obj.setdefault("status", {"loadBalancer": {}})

    @staticmethod
    def _keep_allocated(res: resource, current: dict[str, Any], obj: dict[str, Any]) -> None:
        """An update that leaves out a Service's allocated cluster IP keeps it, as the API server does."""
        if res != SERVICES:
            return
        old, new = current.get("spec") or {}, obj.setdefault("spec", {})
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if key in old and not new.get(key):
                new[key] = old[key]

    def _api_version_kind(self, res: resource) -> tuple[str, str]:
        api_version = f"{res.group}/{res.version}" if res.group else str(res.version)
        return api_version, self._resources[res].kind or ""

    async def _watch_events(
        self, request: rendering.Request, gone: Callable[[], bool]
    ) -> AsyncIterator[dict[str, Any]]:
        """The events of a watch, as kube-apiserver sends them.

        - no resourceVersion (or "0"): ADDED for every current object, then changes;
        - resourceVersion=N: the changes after N, replayed from the history (410 Expired if too old);
        - sendInitialEvents=true (WatchList, Helm 4 `--wait=watcher`): ADDED for every current object,
          then a BOOKMARK annotated `k8s.io/initial-events-end`, then changes;
        - timeoutSeconds=S: the stream ends after S seconds (client-go's reflectors rely on it);
        - filtered by namespace, label and field selectors.
        Ends when `gone()` says the client went away.
        """
        res = request.resource
        assert res is not None
        params = dict(request.params)
        matches = _matcher(params)
        bus = self._buses[res]
        assert isinstance(bus, HistoryBus)
        timeout = float(params.get("timeoutSeconds") or 0)
        deadline = asyncio.get_running_loop().time() + timeout if timeout > 0 else None
        since = params.get("resourceVersion") or ""
        initial = params.get("sendInitialEvents") == "true"

        def visible(event: dict[str, Any]) -> bool:
            obj = event.get("object") or {}
            if request.namespace is not None and obj.get("metadata", {}).get("namespace") != request.namespace:
                return False
            return bool(matches(obj))

        async with self._lock:
            marker = await bus.mark()
            if initial or since in ("", "0"):
                first = [{"type": "ADDED", "object": copy.deepcopy(o)} for o in self._select(request)]
            elif not bus.covers(int(since)):
                first = [{"type": "ERROR", "object": {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 410,
                    "reason": "Expired", "message": f"too old resource version: {since}"}}]
            else:
                first = [event for event in bus.after(int(since)) if visible(event)]
            if initial:
                api_version, kind = self._api_version_kind(res)
                first.append({"type": "BOOKMARK", "object": {
                    "kind": kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(next(self._rv)),
                                 "annotations": {"k8s.io/initial-events-end": "true"}}}})
        try:
            for event in first:
                yield event
            if first and first[0]["type"] == "ERROR":
                return
            loop = asyncio.get_running_loop()
            while not gone():
                wait = 1.0 if deadline is None else min(1.0, deadline - loop.time())
                if wait <= 0:
                    return
                try:
                    event = await asyncio.wait_for(bus.get(since=marker), timeout=wait)
                except TimeoutError:
                    continue
                if visible(event):
                    yield event
        finally:
            await bus.unmark(marker)

    async def _serve_watch_http(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """A watch over HTTP: JSON events, one per line, in a response typed application/json.

        kmock streams as application/octet-stream, which client-go refuses ("no stream serializers
        registered"). With `Accept: ...;as=Table` (kubectl get -w) each object goes out as a Table,
        the column definitions only in the first event, as kube-apiserver's watch encoder does.
        """
        assert request.resource is not None
        raw = request._raw_request
        assert raw is not None
        response = aiohttp.web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(raw)
        as_table = tables.wants_table(request.headers.get("Accept", ""))
        kind = self._resources[request.resource].kind or ""
        include = request.params.get("includeObject", "Metadata")
        headers = True

        def gone() -> bool:
            transport = raw.transport
            return transport is None or transport.is_closing()

        try:
            async for event in self._watch_events(request, gone):
                if as_table and event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                    obj = event["object"]
                    rv = obj.get("metadata", {}).get("resourceVersion", "")
                    event = {"type": event["type"],
                             "object": tables.table(kind, [obj], resource_version=rv, include=include,
                                                    headers=headers)}
                    headers = False
                await response.write(json.dumps(event).encode() + b"\n")
            await response.write_eof()
        except ConnectionError:  # the client went away
            pass
        return response


class HistoryBus(aiobus.Bus[Any]):
    """kmock's event bus, also keeping recent events so a watch can resume from a resourceVersion."""

    #: events kept per resource; a watch from an older resourceVersion gets 410 Expired, as from etcd
    KEEP = 10000

    def __init__(self) -> None:
        super().__init__()
        self.history: collections.deque[tuple[int, dict[str, Any]]] = collections.deque(maxlen=self.KEEP)
        self.dropped_before = 0  # every event with a resourceVersion up to this one was dropped

    async def put(self, *items: Any) -> None:
        """Publish, and remember each event by its object's resourceVersion."""
        for item in items:
            version = int(item.get("object", {}).get("metadata", {}).get("resourceVersion") or 0)
            if len(self.history) == self.history.maxlen:
                self.dropped_before = self.history[0][0]
            self.history.append((version, item))
        await super().put(*items)

    def covers(self, version: int) -> bool:
        """Whether every event after `version` is still in the history."""
        return version >= self.dropped_before

    def after(self, version: int) -> list[dict[str, Any]]:
        """The events after `version`, oldest first."""
        return [copy.deepcopy(event) for number, event in self.history if number > version]
