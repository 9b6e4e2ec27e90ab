"""Server-side printing: `meta.k8s.io/v1` Table responses, as kube-apiserver builds them for kubectl.

`kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io`: the API server prints the
columns (a pod's READY, STATUS, RESTARTS, AGE; a Service's CLUSTER-IP, PORT(S) ...) and kubectl only
lays them out. Without it kubectl falls back to NAME and AGE, so what a user of kubectl sees (a
driver's `Completed` or `Pending` status) was never tested. No Python package ships Kubernetes'
printers, so the columns of the kinds the chart creates are written out here from
pkg/printers/internalversion (column names, priorities and cell rules); other kinds get the
server's default table (Name, Created At).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

Column = tuple[str, str, int]  # (name, type, priority): priority 1 columns show only with -o wide
Obj = dict[str, Any]

NONE = "<none>"


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: the AGE column."""
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    whole = int(seconds)
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        rest = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if rest == 0 else f"{hours // 24 // 365}y{rest}d"
    return f"{hours // 24 // 365}y"


def _age(obj: Obj) -> str:
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    created = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return human_duration((datetime.datetime.now(tz=datetime.UTC) - created).total_seconds())


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


# --- per kind ----------------------------------------------------------------------------------


def _pod(pod: Obj) -> tuple[list[Any], list[Obj]]:
    """printPod: READY counts ready running containers; STATUS is the phase, overridden by the last
    container's waiting or terminated reason (ExitCode:N when it has none), or Terminating."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    restarts = ready = 0
    has_running = False
    for container in reversed(status.get("containerStatuses") or []):
        restarts += int(container.get("restartCount", 0))
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            signal = terminated.get("signal", 0)
            reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
        elif container.get("ready") and state.get("running") is not None:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        pod_conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        reason = "Running" if pod_conditions.get("Ready") == "True" else "NotReady"
    if (pod.get("metadata") or {}).get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    ips = [entry.get("ip") for entry in status.get("podIPs") or [] if entry.get("ip")]
    ip = ips[0] if ips else status.get("podIP") or NONE
    gates = spec.get("readinessGates") or []
    cells = [
        _name(pod), f"{ready}/{len(spec.get('containers') or [])}", reason, str(restarts), _age(pod),
        ip, spec.get("nodeName") or NONE, status.get("nominatedNodeName") or NONE,
        NONE if not gates else f"0/{len(gates)}",
    ]
    conditions: list[Obj] = []
    if phase == "Succeeded":
        conditions = [{"type": "Completed", "status": "True", "reason": "Succeeded",
                       "message": "The pod has completed successfully."}]
    elif phase == "Failed":
        conditions = [{"type": "Completed", "status": "True", "reason": "Failed",
                       "message": "The pod failed."}]
    return cells, conditions


def _selector(selector: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or NONE


def _service(svc: Obj) -> list[Any]:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = spec.get("externalIPs") or []
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") for i in ((svc.get("status") or {}).get("loadBalancer") or {})
                   .get("ingress") or []]
        external_ip = ",".join(ingress + external) or "<pending>"
    elif kind == "ExternalName":
        external_ip = spec.get("externalName", "")
    else:
        external_ip = ",".join(external) or NONE
    ports = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol", "TCP")
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node_port}/{protocol}")
    return [_name(svc), kind, spec.get("clusterIP") or NONE, external_ip, ",".join(ports) or NONE, _age(svc),
            _selector(spec.get("selector"))]


def _ingress(ing: Obj) -> list[Any]:
    spec = ing.get("spec") or {}
    hosts = [rule.get("host") or "*" for rule in spec.get("rules") or []]
    addresses = [i.get("ip") or i.get("hostname") for i in
                 (((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])]
    ports = "80, 443" if spec.get("tls") else "80"
    return [_name(ing), spec.get("ingressClassName") or NONE, ",".join(hosts) or "*", ",".join(addresses),
            ports, _age(ing)]


def _role_binding(binding: Obj) -> list[Any]:
    ref = binding.get("roleRef") or {}
    subjects = binding.get("subjects") or []

    def names(kind: str) -> str:
        found = [
            (f"{s.get('namespace', '')}/{s.get('name')}" if kind == "ServiceAccount" else s.get("name", ""))
            for s in subjects if s.get("kind") == kind
        ]
        return ", ".join(found)

    return [_name(binding), f"{ref.get('kind', '')}/{ref.get('name', '')}", _age(binding),
            names("User"), names("Group"), names("ServiceAccount")]


def _created_at(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp", ""))


PRINTERS: dict[str, tuple[list[Column], Callable[[Obj], list[Any]]]] = {
    "Service": ([("Name", "string", 0), ("Type", "string", 0), ("Cluster-IP", "string", 0),
                 ("External-IP", "string", 0), ("Port(s)", "string", 0), ("Age", "string", 0),
                 ("Selector", "string", 1)], _service),
    "ConfigMap": ([("Name", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)],
                  lambda o: [_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), _age(o)]),
    "Secret": ([("Name", "string", 0), ("Type", "string", 0), ("Data", "integer", 0), ("Age", "string", 0)],
               lambda o: [_name(o), o.get("type", "Opaque"), len(o.get("data") or {}), _age(o)]),
    "ServiceAccount": ([("Name", "string", 0), ("Secrets", "string", 0), ("Age", "string", 0)],
                       lambda o: [_name(o), len(o.get("secrets") or []), _age(o)]),
    "Namespace": ([("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
                  lambda o: [_name(o), (o.get("status") or {}).get("phase", ""), _age(o)]),
    "Ingress": ([("Name", "string", 0), ("Class", "string", 0), ("Hosts", "string", 0), ("Address", "string", 0),
                 ("Ports", "string", 0), ("Age", "string", 0)], _ingress),
    "NetworkPolicy": ([("Name", "string", 0), ("Pod-Selector", "string", 0), ("Age", "string", 0)],
                      lambda o: [_name(o), _selector(((o.get("spec") or {}).get("podSelector") or {})
                                                     .get("matchLabels")), _age(o)]),
    "Role": ([("Name", "string", 0), ("Created At", "string", 0)], lambda o: [_name(o), _created_at(o)]),
    "RoleBinding": ([("Name", "string", 0), ("Role", "string", 0), ("Age", "string", 0), ("Users", "string", 1),
                     ("Groups", "string", 1), ("ServiceAccounts", "string", 1)], _role_binding),
    "PriorityClass": ([("Name", "string", 0), ("Value", "integer", 0), ("Global-Default", "boolean", 0),
                       ("Age", "string", 0), ("PreemptionPolicy", "string", 0)],
                      lambda o: [_name(o), o.get("value", 0), bool(o.get("globalDefault")), _age(o),
                                 o.get("preemptionPolicy", "PreemptLowerPriority")]),
}
POD_COLUMNS: list[Column] = [
    ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0),
    ("Age", "string", 0), ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
    ("Readiness Gates", "string", 1),
]
DEFAULT_COLUMNS: list[Column] = [("Name", "string", 0), ("Created At", "date", 0)]


def _column(name: str, kind: str, priority: int) -> Obj:
    column: Obj = {"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": "",
                   "priority": priority}
    return column


def _row_object(obj: Obj, include: str) -> Obj | None:
    """What a row carries: PartialObjectMetadata by default (kubectl reads names and labels there)."""
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata", {})}


def table(kind: str, objects: list[Obj], *, resource_version: str, include: str = "Metadata",
          headers: bool = True) -> Obj:
    """The Table of `objects` of one kind; `headers=False` for watch events after the first."""
    if kind == "Pod":
        columns = POD_COLUMNS
        printed = [_pod(obj) for obj in objects]
    else:
        columns, printer = PRINTERS.get(kind, (DEFAULT_COLUMNS, lambda o: [_name(o), _created_at(o)]))
        printed = [(printer(obj), []) for obj in objects]
    rows = []
    for obj, (cells, conditions) in zip(objects, printed, strict=True):
        row: Obj = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        if (embedded := _row_object(obj, include)) is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [_column(*c) for c in columns] if headers else [],
        "rows": rows,
    }


def _wants(accept: str, shape: str) -> bool:
    """Whether an Accept header's first choice the server can serve is meta.k8s.io's `shape`."""
    for part in accept.split(","):
        params = {k.strip(): v.strip() for k, _, v in (p.partition("=") for p in part.split(";")[1:])}
        if params.get("as") == shape and params.get("g") == "meta.k8s.io":
            return True
    return False


def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a meta.k8s.io Table (kubectl get's first choice)."""
    return _wants(accept, "Table")


def wants_metadata_list(accept: str) -> bool:
    """Whether a LIST asks for a PartialObjectMetadataList (client-go's metadata client, sparkhelm's inventories)."""
    return _wants(accept, "PartialObjectMetadataList")


def metadata_list(objects: list[Obj], *, resource_version: str) -> Obj:
    """A PartialObjectMetadataList: each object's metadata alone, as kube-apiserver answers it."""
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": obj.get("metadata", {})} for obj in objects]}
