"""A small evaluator of Kubernetes NetworkPolicy semantics, to test flows rather than YAML shapes.

`allowed(policies, src, dst, port, protocol)` answers what a conforming network plugin does for a
connection from endpoint `src` to endpoint `dst`: the destination's ingress policies and the
source's egress policies must both admit it (a pod selected by no policy of a direction is open in
that direction). Endpoints are pods (namespace + labels) or external addresses (an IP).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (`namespace`, `labels`) or, with `ip` set, an address outside the cluster's pods."""

    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = ""
    #: Labels of the pod's namespace besides `kubernetes.io/metadata.name`, which every namespace has.
    namespace_labels: dict[str, str] = field(default_factory=dict)

    @property
    def is_pod(self) -> bool:
        return not self.ip


def pod(namespace: str, namespace_labels: dict[str, str] | None = None, **labels: str) -> Endpoint:
    """A pod of `namespace` with `labels` (`_` in a keyword becomes `-`); its namespace may carry more labels."""
    return Endpoint(namespace=namespace, labels={k.replace("_", "-"): v for k, v in labels.items()},
                    namespace_labels=dict(namespace_labels or {}))


def external(ip: str) -> Endpoint:
    return Endpoint(ip=ip)


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """A LabelSelector; an empty one selects everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(peer: Obj, endpoint: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        if endpoint.is_pod:
            return False  # pod IPs are not modelled; the chart never targets pods by IP
        block = peer["ipBlock"]
        address = ipaddress.ip_address(endpoint.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if not endpoint.is_pod:
        return False
    if "namespaceSelector" in peer:
        namespace_labels = {**endpoint.namespace_labels, "kubernetes.io/metadata.name": endpoint.namespace}
        if not selects(peer["namespaceSelector"], namespace_labels):
            return False
    elif endpoint.namespace != policy_namespace:
        return False
    return selects(peer.get("podSelector"), endpoint.labels)


def _port_matches(ports: list[Obj] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        start = entry.get("port")
        if start is None:
            return True
        end = entry.get("endPort", start)
        if isinstance(start, int) and start <= port <= end:
            return True
    return False


def _direction_allows(policies: list[Obj], subject: Endpoint, peer: Endpoint, port: int, protocol: str, direction: str) -> bool:
    if not subject.is_pod:
        return True  # outside the cluster: no policy applies
    applying = [
        p for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and selects(p["spec"].get("podSelector"), subject.labels)
        and direction in (p["spec"].get("policyTypes") or ["Ingress"])
    ]
    if not applying:
        return True
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in applying:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(_peer_matches(p, peer, policy["metadata"]["namespace"]) for p in peers)
            if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def allowed(policies: list[Obj], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection from `src` to `dst` on `port`/`protocol` is admitted by every policy."""
    return _direction_allows(policies, dst, src, port, protocol, "Ingress") and _direction_allows(
        policies, src, dst, port, protocol, "Egress"
    )
