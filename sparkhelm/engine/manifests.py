"""Turn a map of rendered templates into the text `helm template` prints, and read it back.

Order: Helm's install order by kind (so `kubectl apply -f` of the output also works), then by
template path and position, which makes the output deterministic.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Helm's releaseutil.InstallOrder.
INSTALL_ORDER = [
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
    "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
]
_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}
_SEPARATOR = re.compile(r"(?m)^---[ \t]*(?:#.*)?$")
_KIND = re.compile(r"(?m)^kind:\s*[\"']?([A-Za-z0-9]+)")


def _split(text: str) -> list[str]:
    documents = []
    for chunk in _SEPARATOR.split(text):
        body = chunk.strip("\n")
        # any(): stops at the first real line (a document is hundreds of lines; this runs per render)
        if any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()):
            documents.append(body.strip())
    return documents


def format_manifest(templates: dict[str, str]) -> tuple[str, str]:
    """(manifest text in `helm template` form, NOTES.txt text) from {template path: rendered text}."""
    entries: list[tuple[int, str, int, str]] = []
    notes = ""
    for path, text in templates.items():
        base = path.rsplit("/", 1)[-1]
        if base == "NOTES.txt":
            if path.count("/templates/") == 1 and "/charts/" not in path:
                notes = text.strip("\n") + "\n"
            continue
        if base.startswith("_"):
            continue
        for position, document in enumerate(_split(text)):
            match = _KIND.search(document)
            kind = match.group(1) if match else ""
            entries.append((_RANK.get(kind, len(INSTALL_ORDER)), path, position, document))
    entries.sort(key=lambda entry: (entry[0], entry[1], entry[2]))
    manifest = "".join(f"---\n# Source: {path}\n{document}\n" for _, path, _, document in entries)
    return manifest, notes


def parse_manifest(manifest: str) -> list[dict[str, Any]]:
    """The objects of a multi-document manifest, in order."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ten times the pure-Python loader
    return [document for document in yaml.load_all(manifest, Loader=loader) if isinstance(document, dict)]
