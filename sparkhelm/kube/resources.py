"""The kinds sparkhelm reads, writes and deletes, and their REST paths: one table for every user of it.

Pre-flight derives the permissions an install needs from it, `delete`/`gc` the kinds to sweep by
label, `list` the kinds that reveal an app. tests/test_naming_contract.py checks that every kind the
chart can render is here, so a new template cannot be skipped silently by any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import quote


class Kind(NamedTuple):
    """A Kubernetes resource: its kind, API group and version, plural, and whether it lives in a namespace."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """`apiVersion` as objects of this kind carry it."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The REST path: the collection (in `namespace`, or across all when None), or one object."""
        parts = ["/api", self.version] if not self.group else ["/apis", self.group, self.version]
        if self.namespaced and namespace is not None:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


def _kinds(*kinds: Kind) -> dict[str, Kind]:
    return {k.kind: k for k in kinds}


#: The key of Kubernetes' own PodGroup: "PodGroup" is Volcano's, another API group's kind of that name.
QUALIFIED_POD_GROUP = "PodGroup.scheduling.k8s.io"


#: Every kind the chart can render, in the order `delete` sweeps them: a schedule's CronJob first (no new
#: run starts), then its runs' Jobs, then pods (executors and the driver stop using the rest).
CHART_KINDS = _kinds(
    Kind("CronJob", "batch", "v1", "cronjobs"),
    Kind("Job", "batch", "v1", "jobs"),
    Kind("Pod", "", "v1", "pods"),
    Kind("Service", "", "v1", "services"),
    Kind("ConfigMap", "", "v1", "configmaps"),
    Kind("Secret", "", "v1", "secrets"),
    Kind("ServiceAccount", "", "v1", "serviceaccounts"),
    Kind("Role", "rbac.authorization.k8s.io", "v1", "roles"),
    Kind("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings"),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses"),
    Kind("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes"),
    Kind("GRPCRoute", "gateway.networking.k8s.io", "v1", "grpcroutes"),
    Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies"),
    Kind("PodGroup", "scheduling.volcano.sh", "v1beta1", "podgroups"),
    Kind("PodMonitor", "monitoring.coreos.com", "v1", "podmonitors"),
    # Kubernetes' own gang scheduling (scheduler.gang). The chart renders the version a value names:
    # a Workload of v1alpha1 (1.35), a PodGroup of v1alpha2 (1.36), v1alpha3 or v1beta1 (1.37); the
    # versions below are the newest of each kind, which a sweep of an older cluster does not find.
    Kind("Workload", "scheduling.k8s.io", "v1alpha1", "workloads"),
) | {QUALIFIED_POD_GROUP: Kind("PodGroup", "scheduling.k8s.io", "v1beta1", "podgroups")}

#: What else sparkhelm reads: cluster-scoped classes, namespaces, events, access reviews.
OTHER_KINDS = _kinds(
    Kind("Namespace", "", "v1", "namespaces", namespaced=False),
    Kind("Event", "", "v1", "events"),
    Kind("PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", namespaced=False),
    Kind("IngressClass", "networking.k8s.io", "v1", "ingressclasses", namespaced=False),
    Kind("SelfSubjectAccessReview", "authorization.k8s.io", "v1", "selfsubjectaccessreviews", namespaced=False),
    Kind("SelfSubjectRulesReview", "authorization.k8s.io", "v1", "selfsubjectrulesreviews", namespaced=False),
)

KINDS = {**CHART_KINDS, **OTHER_KINDS}
POD = KINDS["Pod"]


def kind_of(obj: Mapping[str, Any]) -> Kind:
    """The table entry of an object, by its kind and API group (two groups have a kind named PodGroup)."""
    name = str(obj.get("kind"))
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    for entry in KINDS.values():
        if entry.kind == name and entry.group == group:
            return entry
    return kind(name)


def kind(name: str) -> Kind:
    """The table entry of a kind; a kind missing from the table is a bug, said plainly."""
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"kind {name} is not in sparkhelm.kube.resources: add it to CHART_KINDS") from None
