"""Checks `run` makes before it writes anything, so a doomed install is refused with a precise reason.

Each failed check is a UserError (exit 2) naming what to fix. A check the caller is not allowed to
make (a cluster-scoped read refused with 403) becomes a warning: RBAC that hides priority classes
from a namespace user does not mean the class is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sparkhelm.cluster import Cluster, ForbiddenError
from sparkhelm.errors import UserError

Obj = dict[str, Any]

#: kind -> (API group, resource) of what the chart renders, plus Helm's release record.
RESOURCES: dict[str, tuple[str, str]] = {
    "Pod": ("", "pods"),
    "Service": ("", "services"),
    "ConfigMap": ("", "configmaps"),
    "ServiceAccount": ("", "serviceaccounts"),
    "Secret": ("", "secrets"),
    "Role": ("rbac.authorization.k8s.io", "roles"),
    "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    "Ingress": ("networking.k8s.io", "ingresses"),
    "NetworkPolicy": ("networking.k8s.io", "networkpolicies"),
    "PodGroup": ("scheduling.volcano.sh", "podgroups"),
}


@dataclass
class Report:
    """Warnings from checks that could not be made; failures raise instead."""

    warnings: list[str] = field(default_factory=list)


def _access_needed(objects: list[Obj]) -> list[tuple[str, str, str]]:
    """(verb, group, resource) the install needs: create every kind, plus what a Role grants.

    The API server refuses to create a Role that grants permissions its creator lacks, so those
    are checked too.
    """
    needed = {("create", "", "secrets")}  # Helm's release record
    for obj in objects:
        kind = str(obj.get("kind"))
        if kind in RESOURCES:
            group, resource = RESOURCES[kind]
            needed.add(("create", group, resource))
        if kind == "Role":
            for rule in obj.get("rules") or []:
                for group in rule.get("apiGroups") or [""]:
                    for resource in rule.get("resources") or []:
                        for verb in rule.get("verbs") or []:
                            needed.add((verb, group, resource))
    return sorted(needed)


def _qualified(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def _require_class(report: Report, lookup: Callable[[], Obj | None], what: str, missing: str) -> None:
    """A cluster-scoped class must exist (UserError `missing`); a forbidden read is only a warning."""
    try:
        found = lookup()
    except ForbiddenError:
        report.warnings.append(f"cannot read {what} (forbidden); not checked")
        return
    if found is None:
        raise UserError(missing)


def check(cluster: Cluster, *, app: str, namespace: str, values: Obj, objects: list[Obj]) -> Report:
    """Run every check for installing `objects` (the rendered app) as release `app` in `namespace`."""
    report = Report()

    try:
        if cluster.namespace_object(namespace) is None:
            raise UserError(
                f"-n/--namespace: namespace {namespace} does not exist; create it "
                f"(kubectl create namespace {namespace}) or choose another"
            )
    except ForbiddenError:
        report.warnings.append(f"cannot read namespace {namespace} (forbidden); assuming it exists")

    records = cluster.secrets(f"owner=helm,name={app}", namespace)
    if records or cluster.pod(f"{app}-driver", namespace) is not None:
        raise UserError(
            f"--name: app name {app} is already in use in namespace {namespace}; choose another name "
            "(sparkhelm never upgrades an existing app), or omit --name for a generated one"
        )

    for key, account in (
        ("serviceAccount", values.get("serviceAccount") or {}),
        ("executor.serviceAccount", (values.get("executor") or {}).get("serviceAccount") or {}),
    ):
        if not account.get("create"):
            name = account.get("name") or "default"
            if cluster.service_account(name, namespace) is None:
                raise UserError(
                    f"{key}.name: service account {name} does not exist in namespace {namespace}; "
                    f"create it, or set {key}.create=true to let the chart create one"
                )

    if any(obj.get("kind") == "PodGroup" for obj in objects):
        try:
            served = cluster.served_resources("scheduling.volcano.sh", "v1beta1")
        except ForbiddenError:
            report.warnings.append("cannot read API discovery (forbidden); Volcano PodGroups not checked")
        else:
            if not served or "podgroups" not in served:
                raise UserError(
                    "scheduler.name: volcano, but the cluster serves no Volcano PodGroups "
                    "(scheduling.volcano.sh/v1beta1); install Volcano, choose another scheduler, "
                    "or set volcano.podGroup.enabled=false"
                )

    priority = values.get("priorityClassName") or ""
    if priority:
        _require_class(
            report,
            lambda: cluster.priority_class(priority),
            f"priority class {priority}",
            f"priorityClassName: priority class {priority} does not exist; use one of the cluster's "
            "classes (kubectl get priorityclasses) or leave it empty",
        )

    ingress = (values.get("ui") or {}).get("ingress") or {}
    class_name = ingress.get("className") or ""
    if ingress.get("enabled") and class_name:
        _require_class(
            report,
            lambda: cluster.ingress_class(class_name),
            f"ingress class {class_name}",
            f"ui.ingress.className: ingress class {class_name} does not exist; use one of "
            "'kubectl get ingressclasses', or leave it empty for the cluster default",
        )

    needed = _access_needed(objects)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda n: cluster.can_i(n[0], n[1], n[2], namespace), needed))
    for (verb, group, resource), (allowed, _reason) in zip(needed, answers, strict=True):
        if not allowed:
            hint = {
                "roles": "; or set rbac.create=false and use an existing service account",
                "rolebindings": "; or set rbac.create=false and use an existing service account",
                "serviceaccounts": "; or set serviceAccount.create=false with serviceAccount.name",
                "ingresses": "; or set ui.ingress.enabled=false",
            }.get(resource, "")
            raise UserError(
                f"RBAC: you may not {verb} {_qualified(group, resource)} in namespace {namespace}; "
                f"ask a cluster admin for it{hint}"
            )
    return report
