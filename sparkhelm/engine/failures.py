"""Turn Helm's error text (from the SDK or the binary) into one actionable sparkhelm error.

Both engines wrap the same Go code, so the same phrases identify the same failures; matching text is
the only interface Helm offers for them (pyhelm3 0.5.8 still matches wording Helm removed in 3.13).
"""

from __future__ import annotations

import re

from sparkhelm.errors import (
    EngineError,
    HelmForbiddenError,
    NameInUseError,
    OperationPendingError,
    ReleaseNotFoundError,
    SparkhelmError,
    UserError,
)

UNREACHABLE = (
    "kubernetes cluster unreachable",
    "connection refused",
    "no such host",
    "i/o timeout",
    "dial tcp",
    "tls handshake timeout",
)


_EXECUTION_ERROR = re.compile(r"execution error at \([^)]*\):\s*(.*)", re.S)


def explain_helm_error(message: str) -> str:
    """The part of a Helm render or schema error a user can act on, on one line."""
    match = _EXECUTION_ERROR.search(message)
    if match:
        return " ".join(match.group(1).split())
    lines = [line.strip(" -") for line in message.splitlines() if line.strip()]
    details = [line for line in lines if line.startswith("at '")]
    return "; ".join(details) if details else " ".join(lines)


def _detail(message: str) -> str:
    return " ".join(message.split())


def classify(message: str, *, action: str, release: str, namespace: str) -> SparkhelmError:
    """The sparkhelm error for Helm's `message` during `action` (install, uninstall) of `release`."""
    text = message.lower()
    where = f"in namespace {namespace}"
    if "cannot reuse a name" in text or "cannot re-use a name" in text or (
        "already exists" in text and "unable to continue with install" in text
    ):
        return NameInUseError(
            f"app name {release} is already in use {where}: choose another --name, or omit --name "
            "to get a generated unique one"
        )
    if "another operation (install/upgrade/rollback) is in progress" in text:
        return OperationPendingError(
            f"{action} {release}: another Helm operation on this release is in progress or was interrupted; "
            f"wait for it, or remove the app with 'sparkhelm delete {release} -n {namespace}'"
        )
    if "must have at most 1048576 bytes" in text or "request entity too large" in text:
        return UserError(
            f"{action} {release}: the release record is over the 1 MiB Kubernetes allows for a Secret; keep large "
            "content out of values and reference files through app.jars, app.files or a volume"
        )
    if "release: not found" in text or "release not loaded" in text:
        return ReleaseNotFoundError(f"{action} {release}: no app {release} {where}")
    if any(marker in text for marker in UNREACHABLE):
        return EngineError(
            f"{action} {release}: cannot reach the Kubernetes API ({_detail(message)}); check KUBECONFIG, "
            "--kubeconfig or --kube-context"
        )
    if "forbidden" in text:
        return HelmForbiddenError(f"{action} {release}: forbidden: {_detail(message)}")
    if f'namespaces "{namespace}" not found' in text:
        return UserError(f"-n/--namespace: namespace {namespace} does not exist; create it or pick another")
    return EngineError(f"{action} {release} failed: {_detail(message)}")
