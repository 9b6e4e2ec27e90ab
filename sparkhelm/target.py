"""Which cluster and namespace a command works on, as the user said it (kept free of heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass

from sparkhelm.naming import validate_namespace


@dataclass(frozen=True)
class KubeTarget:
    """Kubeconfig path, context and namespace; None means "as kubectl and helm decide"."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None

    def __post_init__(self) -> None:
        if self.namespace is not None:
            validate_namespace(self.namespace)
