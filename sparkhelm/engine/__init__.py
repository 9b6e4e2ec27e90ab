"""Helm engines behind one small interface: render, install and uninstall the chart.

Two backends: the embedded Helm SDK (helm-python-sdk, no binary needed) and a `helm` binary driven
through pyhelm3 (what ops teams run). Each is imported only when chosen, so that commands that do
not render stay fast. Both take the cluster as one resolved `kube.connection.Connection`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from sparkhelm.engine.helmpath import helm_binary
from sparkhelm.errors import UserError

if TYPE_CHECKING:
    from sparkhelm.kube.cluster import Cluster

ENGINE_CHOICES = ("auto", "embedded", "helm")


class Rendered(NamedTuple):
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
        them itself, before deriving anything); an engine may then skip Helm's own, identical, check.
        """
        ...

    def schema_problem(self, chart_dir: Path, values: dict[str, Any]) -> str | None:
        """Helm's own check of `values` against the chart's schema: None when they pass, else its words.

        An engine that checks nothing itself returns None and leaves the check to sparkhelm's.
        """
        ...

    def install(
        self, chart_dir: Path, values: dict[str, Any], *, release: str, cluster: Cluster, rendered: Rendered
    ) -> None:
        """Install `rendered` as a new release in the cluster's namespace (never an upgrade).

        Helm's refusals become the errors of `engine.failures` (`NameInUseError` and so on).
        """
        ...

    def uninstall(self, release: str, *, cluster: Cluster, wait: bool = False) -> bool:
        """Uninstall a release of the cluster's namespace; False when there was none."""
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


def engine_of(engine: Engine | str) -> Engine:
    """An engine given by name (`--engine`) or as an object."""
    return get_engine(engine) if isinstance(engine, str) else engine
