"""Helm engines behind one small interface: render, install and uninstall the chart.

Two backends: the embedded Helm SDK (helm-python-sdk, no binary needed) and a `helm` binary driven
through pyhelm3. Each is imported only when chosen, so that commands that do not render stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sparkhelm.errors import UserError
from sparkhelm.helmpath import helm_binary

if TYPE_CHECKING:
    from sparkhelm.target import KubeTarget

ENGINE_CHOICES = ("auto", "embedded", "helm")


@dataclass(frozen=True)
class Rendered:
    """A render: the manifests as `helm template` prints them, and NOTES.txt when the engine gives it."""

    manifest: str
    notes: str


class Engine(Protocol):
    """What sparkhelm needs from Helm."""

    name: str

    def render(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str, prevalidated: bool = False
    ) -> Rendered:
        """Render the chart offline with these values, as release `release` in `namespace`.

        `prevalidated`: the values already passed the chart's values.schema.json (sparkhelm checks
        them itself); an engine may then skip Helm's own, identical, check.
        """
        ...

    def install(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, namespace: str, kube: KubeTarget
    ) -> None:
        """Install a new release (never an upgrade); Helm failures raise errors from `engine.failures`."""
        ...

    def uninstall(self, release: str, *, namespace: str, kube: KubeTarget, wait: bool = False) -> bool:
        """Uninstall a release; False when there was none. `wait`: until its objects are gone."""
        ...


def get_engine(choice: str = "auto") -> Engine:
    """The engine for `--engine`: auto picks the helm binary when there is one, else the embedded SDK."""
    if choice not in ENGINE_CHOICES:
        raise UserError(f"--engine {choice!r} is not an engine: use one of {', '.join(ENGINE_CHOICES)}")
    binary = helm_binary()
    if choice == "helm" or (choice == "auto" and binary):
        if not binary:
            raise UserError("--engine helm: no helm binary on PATH; install helm or use --engine embedded")
        from sparkhelm.engine.helmbin import HelmBinaryEngine

        return HelmBinaryEngine(binary)
    from sparkhelm.engine.embedded import EmbeddedEngine

    return EmbeddedEngine()
