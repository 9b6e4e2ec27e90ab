"""The checks `run` makes before it writes anything, so a doomed install is refused with a precise reason.

Each check is a small function of one `Context`; `check()` runs them in order. A failed check is a
UserError (exit 2) naming what to fix. A check the caller may not make (a cluster-scoped read refused
with 403) adds a warning instead: RBAC that hides priority classes from a namespace user does not
mean the class is missing. Checks that need only the values (`value_warnings`) also run in a dry run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sparkhelm.errors import ApiError, ForbiddenError, UserError
from sparkhelm.kube.cluster import Cluster
from sparkhelm.kube.resources import CHART_KINDS, kind, kind_of
from sparkhelm.spec.layers import get

Obj = dict[str, Any]
Access = tuple[str, str, str]  # verb, API group, resource


@dataclass
class Context:
    """What the checks look at: the cluster, the app, its values and its rendered objects."""

    cluster: Cluster
    app: str
    values: Obj
    objects: list[Obj]
    warnings: list[str] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        """Where the app goes."""
        return self.cluster.namespace

    def forbidden(self, what: str) -> None:
        """Note a check that RBAC did not let us make."""
        self.warnings.append(f"cannot read {what} (forbidden); not checked")


def namespace_exists(ctx: Context) -> None:
    """The namespace must exist (Helm would fail half-way otherwise)."""
    try:
        found = ctx.cluster.get("Namespace", ctx.namespace)
    except ForbiddenError:
        ctx.warnings.append(f"cannot read namespace {ctx.namespace} (forbidden); assuming it exists")
        return
    if found is None:
        raise UserError(
            f"-n/--namespace: namespace {ctx.namespace} does not exist; create it "
            f"(kubectl create namespace {ctx.namespace}) or choose another"
        )


def name_free(ctx: Context) -> None:
    """No release of that name: sparkhelm never upgrades or adopts an app.

    An app without a release (kubectl-applied, orphaned) is found by the install itself: its first
    object already exists (409), nothing of it is touched, and the install stops there as name in use.
    """
    if ctx.cluster.objects("Secret", f"owner=helm,name={ctx.app}", metadata_only=True):
        raise UserError(
            f"--name: app name {ctx.app} is already in use in namespace {ctx.namespace}; choose another name "
            "(sparkhelm never upgrades an existing app), or omit --name for a generated one"
        )


def service_accounts_exist(ctx: Context) -> None:
    """A service account the chart does not create must exist."""
    for key, account in (
        ("serviceAccount", ctx.values.get("serviceAccount") or {}),
        ("executor.serviceAccount", get(ctx.values, "executor", "serviceAccount") or {}),
    ):
        if account.get("create", True):
            continue
        name = account.get("name") or "default"
        if ctx.cluster.get("ServiceAccount", name) is None:
            raise UserError(
                f"{key}.name: service account {name} does not exist in namespace {ctx.namespace}; "
                f"create it, or set {key}.create=true to let the chart create one"
            )


#: Optional APIs the chart can render objects of, and how to do without each (or get it).
OPTIONAL_APIS = {
    "scheduling.volcano.sh": "scheduler.name: volcano, but the cluster serves no Volcano {plural} ({api}); install "
    "Volcano, choose another scheduler, or set volcano.podGroup.enabled=false",
    "monitoring.coreos.com": "metrics.podMonitor.enabled: the cluster serves no {plural} ({api}); install the "
    "Prometheus Operator, or set metrics.podMonitor.enabled=false for scrape annotations",
    "scheduling.k8s.io": "scheduler.gang: the cluster serves no {plural} of {api}; set scheduler.gang.apiVersion to "
    "the version it serves (Kubernetes 1.35: v1alpha1, 1.36: v1alpha2, 1.37: v1alpha3 or v1beta1, with the feature "
    "gate on), or scheduler.gang.enabled=false",
    "gateway.networking.k8s.io": "ui.httpRoute / connect.grpcRoute: the cluster serves no {plural} ({api}); install "
    "the Gateway API (v1.1 or later for GRPCRoute), or turn the route off and use an Ingress or a port-forward",
}


def apis_served(ctx: Context) -> None:
    """Objects of an optional API (Volcano, Prometheus Operator, native gang, Gateway API) need that API served."""
    asked: dict[tuple[str, str], set[str]] = {}
    for obj in ctx.objects:
        entry = kind_of(obj)
        if entry.group in OPTIONAL_APIS:
            version = str(obj.get("apiVersion", "")).rpartition("/")[2] or entry.version
            asked.setdefault((entry.group, version), set()).add(entry.plural)
    for (group, version), plurals in sorted(asked.items()):
        try:
            served = ctx.cluster.served_resources(group, version) or set()
        except ForbiddenError:
            ctx.warnings.append(f"cannot read API discovery of {group}/{version} (forbidden); not checked")
            continue
        for plural in sorted(plurals - served):
            raise UserError(OPTIONAL_APIS[group].format(plural=plural, api=f"{group}/{version}"))


#: Versions of Kueue's API that may serve LocalQueues, newest first.
KUEUE_VERSIONS = ("v1beta2", "v1beta1")


def kueue_queue_exists(ctx: Context) -> None:
    """With Kueue, the LocalQueue named by scheduler.queue must exist in the namespace (pods would wait forever)."""
    scheduler = ctx.values.get("scheduler") or {}
    if not (scheduler.get("kueue") or {}).get("enabled"):
        return
    queue = str(scheduler.get("queue") or "")
    try:
        for version in KUEUE_VERSIONS:
            served = ctx.cluster.served_resources("kueue.x-k8s.io", version)
            if served and "localqueues" in served:
                path = f"/apis/kueue.x-k8s.io/{version}/namespaces/{ctx.namespace}/localqueues/{queue}"
                if ctx.cluster.client.get(path) is None:
                    raise UserError(
                        f"scheduler.queue: Kueue has no LocalQueue {queue} in namespace {ctx.namespace}; create "
                        "it or name one of 'kubectl get localqueues'"
                    )
                return
    except ForbiddenError:
        ctx.forbidden(f"Kueue LocalQueue {queue}")
        return
    raise UserError(
        "scheduler.kueue.enabled: the cluster serves no Kueue LocalQueues (kueue.x-k8s.io); install Kueue or set "
        "scheduler.kueue.enabled=false"
    )


def _require_class(ctx: Context, kind_name: str, name: str, what: str, missing: str) -> None:
    try:
        found = ctx.cluster.cluster_object_exists(kind_name, name)
    except ForbiddenError:
        ctx.forbidden(what)
        return
    if not found:
        raise UserError(missing)


def priority_class_exists(ctx: Context) -> None:
    """The priority class must exist, or the driver pod is refused at admission."""
    priority = ctx.values.get("priorityClassName") or ""
    if priority:
        _require_class(
            ctx,
            "PriorityClass",
            priority,
            f"priority class {priority}",
            f"priorityClassName: priority class {priority} does not exist; use one of the cluster's "
            "classes (kubectl get priorityclasses) or leave it empty",
        )


def ingress_class_exists(ctx: Context) -> None:
    """The ingress class must exist, or nothing ever serves the UI."""
    ingress = get(ctx.values, "ui", "ingress") or {}
    class_name = ingress.get("className") or ""
    if ingress.get("enabled") and class_name:
        _require_class(
            ctx,
            "IngressClass",
            class_name,
            f"ingress class {class_name}",
            f"ui.ingress.className: ingress class {class_name} does not exist; use one of "
            "'kubectl get ingressclasses', or leave it empty for the cluster default",
        )


def access_needed(objects: list[Obj]) -> list[Access]:
    """(verb, group, resource) the install needs: create every kind, plus what a Role grants.

    The API server refuses to create a Role that grants permissions its creator lacks, so those are
    checked too. A kind missing from `kube.resources` is a bug and raises LookupError.
    """
    needed = {("create", "", "secrets")}  # Helm's release record
    for obj in objects:
        entry = kind_of(obj)
        needed.add(("create", entry.group, entry.plural))
        if obj.get("kind") == "Role":
            for rule in obj.get("rules") or []:
                for group in rule.get("apiGroups") or [""]:
                    for resource in rule.get("resources") or []:
                        for verb in rule.get("verbs") or []:
                            needed.add((verb, group, resource))
    return sorted(needed)


def _covers(rule: Obj, access: Access) -> bool:
    verb, group, resource = access
    return (
        any(v in ("*", verb) for v in rule.get("verbs") or [])
        and any(g in ("*", group) for g in rule.get("apiGroups") or [])
        and any(r in ("*", resource) for r in rule.get("resources") or [])
        and not rule.get("resourceNames")
    )


def _rules(ctx: Context) -> tuple[list[Obj], bool] | None:
    """The caller's rules in the namespace (one SelfSubjectRulesReview), or None when the server will not say."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": ctx.namespace},
    }
    try:
        answer = ctx.cluster.client.create(kind("SelfSubjectRulesReview").path(), review)
    except ApiError:
        return None
    status = answer.get("status") or {}
    if status.get("evaluationError") and not status.get("resourceRules"):
        return None
    return list(status.get("resourceRules") or []), bool(status.get("incomplete"))


def _access_review(ctx: Context, access: Access) -> bool:
    verb, group, resource = access
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {"verb": verb, "group": group, "resource": resource, "namespace": ctx.namespace}
        },
    }
    answer = ctx.cluster.client.create(kind("SelfSubjectAccessReview").path(), review)
    return bool((answer.get("status") or {}).get("allowed"))


_HINTS = {
    "roles": "; or set rbac.create=false and use an existing service account",
    "rolebindings": "; or set rbac.create=false and use an existing service account",
    "serviceaccounts": "; or set serviceAccount.create=false with serviceAccount.name",
    "ingresses": "; or set ui.ingress.enabled=false",
}


def permitted(ctx: Context) -> None:
    """The caller may create every object and grant what its Role grants.

    One SelfSubjectRulesReview answers for all of them; access reviews are asked only for what the
    rules do not cover when the server says its list is incomplete (webhook authorizers), or for
    everything when it does not answer rules reviews.
    """
    needed = access_needed(ctx.objects)
    rules = _rules(ctx)
    if rules is not None:
        granted, incomplete = rules
        unsure = [access for access in needed if not any(_covers(rule, access) for rule in granted)]
        if unsure and not incomplete:
            _refuse(ctx, unsure[0])
    else:
        unsure = needed
    if not unsure:
        return
    with ThreadPoolExecutor(max_workers=min(8, len(unsure))) as pool:
        answers = list(pool.map(lambda access: _access_review(ctx, access), unsure))
    for access, allowed in zip(unsure, answers, strict=True):
        if not allowed:
            _refuse(ctx, access)


def _refuse(ctx: Context, access: Access) -> None:
    verb, group, resource = access
    qualified = f"{resource}.{group}" if group else resource
    raise UserError(
        f"RBAC: you may not {verb} {qualified} in namespace {ctx.namespace}; "
        f"ask a cluster admin for it{_HINTS.get(resource, '')}"
    )


CHECKS: tuple[Callable[[Context], None], ...] = (
    namespace_exists,
    name_free,
    service_accounts_exist,
    apis_served,
    kueue_queue_exists,
    priority_class_exists,
    ingress_class_exists,
    permitted,
)


def check(cluster: Cluster, *, app: str, values: Obj, objects: list[Obj]) -> list[str]:
    """Run every check for installing `objects` (the rendered app) as `app`; the warnings of those not made."""
    ctx = Context(cluster, app, values, objects)
    for one in CHECKS:
        one(ctx)
    return ctx.warnings + value_warnings(values)


# --- checks of the values alone (also in a dry run) ------------------------------------------------

#: URL schemes of stores outside the cluster's pod network, which the default NetworkPolicy blocks.
_REMOTE = re.compile(r"\b(s3a?|s3n|gs|abfss?|wasbs?|adl|oss|cos|hdfs|webhdfs|https?|ftp)://[^\s,]+", re.IGNORECASE)


def _strings(node: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}.{key}" if where else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}[{index}]")
    elif isinstance(node, str):
        yield where, node


def value_warnings(values: Obj) -> list[str]:
    """Warnings from the values alone: remote stores the NetworkPolicy will not let the app reach."""
    policy = values.get("networkPolicy") or {}
    if policy.get("enabled") is False or policy.get("egress"):
        return []
    warnings = []
    for where, text in [
        *_strings(values.get("app") or {}, "app"),
        *_strings(values.get("sparkConf") or {}, "sparkConf"),
    ]:
        match = _REMOTE.search(text)
        if match:
            warnings.append(
                f"{where} names {match.group(0)}, but the NetworkPolicy lets the driver and the executors reach "
                "only DNS and the API server: add a networkPolicy.egress rule for that store (chart README, "
                "'Egress'), or the app fails when it reads it"
            )
        elif where.startswith("app.packages") or where.startswith("app.dependencies.packages"):
            warnings.append(
                f"{where} is resolved from Maven repositories at submit time, but the NetworkPolicy lets the "
                "driver reach only DNS and the API server: add a networkPolicy.egress rule for the repository"
            )
    return sorted(set(warnings))


def covered_kinds() -> set[str]:
    """The kinds whose permissions `access_needed` knows (tests hold every renderable kind against it)."""
    return set(CHART_KINDS)
