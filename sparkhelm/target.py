"""Which cluster and namespace a command works on, as the user said it (kept free of heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KubeTarget:
    """Kubeconfig path, context and namespace; None means "as kubectl and helm decide"."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
