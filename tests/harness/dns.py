"""Cluster DNS for the pods the harness runs: each pod's hosts file, computed from the API's objects.

A pod in a cluster resolves a Service through CoreDNS: a headless Service (`clusterIP: None`) to
the IPs of the pods its selector matches (its endpoints), every other Service to its ClusterIP. The
pod's resolv.conf search list makes `<svc>` and `<svc>.<ns>` work besides the full names. Here the
JVM of each pod reads one hosts file instead (`-Djdk.net.hosts.file`), written by the harness's
kubelet whenever pods or Services change, so a name resolves exactly when CoreDNS would answer it,
and nothing else is consulted (no fallback to this machine's resolver that could hide a miss).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from tests.netpol import selects

Obj = dict[str, Any]
CLUSTER_DOMAIN = "cluster.local"
TERMINATED = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Record:
    """One hosts-file line: an address and the names that resolve to it."""

    ip: str
    names: tuple[str, ...]


def _ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def endpoints(service: Obj, pods: list[Obj]) -> list[str]:
    """The IPs the endpoints controller lists for a Service: pods its selector matches, in its namespace.

    A Service without a selector has no managed endpoints. Terminated pods and pods without an IP
    are never endpoints; pods that are not Ready are, only with `publishNotReadyAddresses`.
    """
    spec = service.get("spec") or {}
    selector = spec.get("selector")
    if not selector:
        return []
    namespace = service["metadata"]["namespace"]
    ips = []
    for pod in pods:
        status = pod.get("status") or {}
        if pod["metadata"].get("namespace") != namespace or not status.get("podIP"):
            continue
        if status.get("phase") in TERMINATED or pod["metadata"].get("deletionTimestamp"):
            continue
        if not selects({"matchLabels": selector}, pod["metadata"].get("labels") or {}):
            continue
        if not spec.get("publishNotReadyAddresses") and not _ready(pod):
            continue
        ips.append(status["podIP"])
    return sorted(ips)


def service_names(service: Obj, from_namespace: str) -> tuple[str, ...]:
    """The names a pod in `from_namespace` can use for a Service (its search list adds the short ones)."""
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    names = [f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.{CLUSTER_DOMAIN}"]
    if namespace == from_namespace:
        names.insert(0, name)
    return tuple(names)


def records(pod: Obj, pods: list[Obj], services: list[Obj], cluster_ips: dict[tuple[str, str], str]) -> list[Record]:
    """What `pod` resolves: itself (as the kubelet's /etc/hosts has it), localhost and every Service.

    `cluster_ips` maps (namespace, name) of a non-headless Service to the virtual IP the harness
    gave it; a Service without one (not proxied) resolves to nothing, like a Service whose IP
    nothing routes would fail at connect time.
    """
    meta = pod["metadata"]
    own_ip = (pod.get("status") or {}).get("podIP", "")
    out = [Record("127.0.0.1", ("localhost",))]
    if own_ip:
        # The pod's hostname is its name (the harness sets it in the pod's UTS namespace); the
        # machine's own name is listed too, for a process that asked before the name was set.
        out.append(Record(own_ip, tuple(dict.fromkeys((meta["name"], socket.gethostname())))))
    for service in sorted(services, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
        names = service_names(service, meta.get("namespace", ""))
        key = (service["metadata"]["namespace"], service["metadata"]["name"])
        if (service.get("spec") or {}).get("clusterIP") == "None":
            out.extend(Record(ip, names) for ip in endpoints(service, pods))
        elif key in cluster_ips:
            out.append(Record(cluster_ips[key], names))
    return out


def hosts_file(entries: list[Record]) -> str:
    """The hosts-file text: one line per address and name set (a name on several lines has several IPs)."""
    return "".join(f"{record.ip}\t{' '.join(record.names)}\n" for record in entries)


def lookup(entries: list[Record], name: str) -> list[str]:
    """The addresses a name resolves to in these records (what the JVM's hosts-file resolver answers)."""
    return [record.ip for record in entries if name.lower() in (n.lower() for n in record.names)]


def parse_hosts(text: str) -> list[Record]:
    """Records of a hosts file (as hosts_file writes it)."""
    out = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            out.append(Record(fields[0], tuple(fields[1:])))
    return out
