"""API discovery as kube-apiserver serves it: subresources as they are, and aggregated discovery.

kmock describes a subresource (`pods/eviction`) with its parent's kind, verbs, short names and
categories; kubectl then takes `pods/eviction` for a member of the `all` category and `kubectl get
all` fails. A real server gives each subresource its own kind and verbs and no categories.

Since 1.30 API servers also answer `GET /api` and `GET /apis` with the whole discovery document in
one response when asked for `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`
(aggregated discovery); without it client-go fetches one APIResourceList per group-version, about
25 more requests for every kubectl or helm process.
"""

from __future__ import annotations

import re
from typing import Any

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

#: subresource -> (group, version, kind of the response, verbs); group None = the parent's
#: group-version, kind None = the parent's kind. From the registrations of kube-apiserver's storage.
SUBRESOURCES: dict[str, tuple[str | None, str | None, str | None, list[str]]] = {
    "status": (None, None, None, ["get", "patch", "update"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "log": (None, None, None, ["get"]),
    "exec": (None, None, "PodExecOptions", ["create", "get"]),
    "attach": (None, None, "PodAttachOptions", ["create", "get"]),
    "portforward": (None, None, "PodPortForwardOptions", ["create", "get"]),
    "proxy": (None, None, None, ["create", "delete", "get", "patch", "update"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "binding": (None, None, "Binding", ["create"]),
    "ephemeralcontainers": (None, None, None, ["get", "patch", "update"]),
    "resize": (None, None, None, ["get", "patch", "update"]),
    "finalize": (None, None, None, ["update"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
    "approval": (None, None, None, ["get", "patch", "update"]),
}
_PROXY_KINDS = {"pods": "PodProxyOptions", "services": "ServiceProxyOptions", "nodes": "NodeProxyOptions"}


def subresource(parent_plural: str, parent_group: str, parent_version: str, parent_kind: str,
                name: str) -> tuple[str, str, str, list[str]]:
    """(group, version, kind, verbs) of `parent/name`."""
    group, version, kind, verbs = SUBRESOURCES.get(name, (None, None, None, ["get"]))
    if name == "proxy":
        kind = _PROXY_KINDS.get(parent_plural, kind)
    return (group if group is not None else parent_group, version or parent_version, kind or parent_kind,
            sorted(verbs))


def fix_resource_list(payload: dict[str, Any]) -> dict[str, Any]:
    """An APIResourceList (legacy discovery) with its subresource entries as a real server writes them."""
    group_version = payload.get("groupVersion", "")
    parent_group, _, parent_version = group_version.rpartition("/")
    kinds = {entry["name"]: entry.get("kind", "") for entry in payload.get("resources", []) if "/" not in entry["name"]}
    for entry in payload.get("resources", []):
        if "/" not in entry["name"]:
            continue
        plural, _, name = entry["name"].partition("/")
        group, version, kind, verbs = subresource(plural, parent_group, parent_version, kinds.get(plural, ""), name)
        entry.update(kind=kind, verbs=verbs, singularName="")
        if (group, version) != (parent_group, parent_version):
            entry.update(group=group, version=version)
        entry.pop("categories", None)
        entry.pop("shortNames", None)
    payload["resources"] = sorted(payload.get("resources", []), key=lambda e: e["name"])
    return payload


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int]:
    """Sort key, best first: GA before beta before alpha, higher numbers first (v2 > v1 > v1beta1)."""
    match = _VERSION.match(version)
    if not match:
        return (3, 0, 0)
    major, level, minor = match.groups()
    stability = {None: 0, "beta": 1, "alpha": 2}[level]
    return (stability, -int(major), -int(minor or 0))


def accepts_aggregated(accept: str) -> bool:
    """Whether the client asks for aggregated discovery v2 (client-go since 1.30 does, first)."""
    for part in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in part.split(";")[1:])}
        if params.get("g") == "apidiscovery.k8s.io" and params.get("v") == "v2" \
                and params.get("as") == "APIGroupDiscoveryList":
            return True
    return False


Resource = tuple[str, str, str, Any]  # (group, version, plural, kmock ResourceInfo)


def aggregated(resources: list[Resource], *, core: bool) -> dict[str, Any]:
    """The APIGroupDiscoveryList of `/api` (core=True: the "" group) or `/apis` (every other group)."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for group, version, plural, info in resources:
        if (group == "") != core:
            continue
        kind = info.kind or plural.capitalize()
        entry: dict[str, Any] = {
            "resource": plural,
            "responseKind": {"group": group, "version": version, "kind": kind},
            "scope": "Namespaced" if info.namespaced else "Cluster",
            "singularResource": info.singular or plural,
            "verbs": sorted(info.verbs),
        }
        if info.shortnames:
            entry["shortNames"] = sorted(info.shortnames)
        if info.categories:
            entry["categories"] = sorted(info.categories)
        subresources = []
        for name in sorted(info.subresources):
            sub_group, sub_version, sub_kind, verbs = subresource(plural, group, version, kind, name)
            subresources.append({
                "subresource": name,
                "responseKind": {"group": sub_group, "version": sub_version, "kind": sub_kind},
                "verbs": verbs,
            })
        if subresources:
            entry["subresources"] = subresources
        groups.setdefault(group, {}).setdefault(version, []).append(entry)
    items: list[dict[str, Any]] = []
    for group in sorted(groups):
        versions = []
        for version in sorted(groups[group], key=version_priority):
            entries = sorted(groups[group][version], key=lambda e: str(e["resource"]))
            versions.append({"version": version, "resources": entries, "freshness": "Current"})
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}
