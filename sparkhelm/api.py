"""What the CLI does, as plain functions (usable from Python, testable without Typer).

The rule of the architecture holds here: values are computed, the chart renders them, and the
rendered text is returned untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sparkhelm import chartfiles
from sparkhelm import values as values_mod
from sparkhelm.engine import Engine, Rendered, get_engine
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.values import AppValues

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Inputs:
    """Everything a user gives to describe one application."""

    values_files: Sequence[str | Path] = ()
    sets: Sequence[str] = ()
    set_strings: Sequence[str] = ()
    name: str | None = None
    chart: str | Path | None = None


@dataclass(frozen=True)
class DryRun:
    """What `run` would install: the app, where, and the objects (kind, name) in install order."""

    app_name: str
    namespace: str
    engine: str
    objects: list[tuple[str, str]] = field(default_factory=list)
    notes: str = ""


def _compute(inputs: Inputs) -> tuple[Path, AppValues]:
    chart_dir = chartfiles.resolve_chart_dir(inputs.chart)
    return chart_dir, values_mod.compute(chart_dir, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name)


def compute_values(inputs: Inputs) -> AppValues:
    """The application's values (as `sparkhelm values` prints them), validated."""
    return _compute(inputs)[1]


def render(
    inputs: Inputs, *, namespace: str = DEFAULT_NAMESPACE, engine: Engine | str = "auto"
) -> tuple[AppValues, Rendered]:
    """Compute the values and render the chart with them; the release name is the app-name."""
    chart_dir, app = _compute(inputs)
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    return app, chosen.render(chart_dir, app.values, release=app.app_name, namespace=namespace)


def dry_run(inputs: Inputs, *, namespace: str = DEFAULT_NAMESPACE, engine: Engine | str = "auto") -> DryRun:
    """Everything `run` does before it talks to a cluster."""
    chosen = get_engine(engine) if isinstance(engine, str) else engine
    app, rendered = render(inputs, namespace=namespace, engine=chosen)
    objects = [
        (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        for obj in parse_manifest(rendered.manifest)
    ]
    return DryRun(app_name=app.app_name, namespace=namespace, engine=chosen.name, objects=objects, notes=rendered.notes)
