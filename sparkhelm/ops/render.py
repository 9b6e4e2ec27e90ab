"""Values to objects: compute an app's values, render the chart with them, plan a run without a cluster.

The rule of the architecture holds here: values are computed (spec/), the chart renders them
(engine/), and the rendered text is returned untouched. The schema is checked in Python before
anything is derived; the chart's own rules (cross-field checks, wiring keys, credentials) are checked
by the render itself, so `values` and `explain` render too: they never print values the chart refuses.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sparkhelm.chart.files import resolve_chart_dir
from sparkhelm.engine import Engine, Rendered, engine_of
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.spec.compute import AppValues, compute
from sparkhelm.spec.inputs import Inputs
from sparkhelm.spec.naming import validate_namespace

if TYPE_CHECKING:
    from sparkhelm.kube.connection import KubeTarget
    from sparkhelm.spec.explain import Explained

DEFAULT_NAMESPACE = "default"


def compute_values(inputs: Inputs) -> AppValues:
    """The application's values, schema-checked, with its app-name (no render: see `values`)."""
    chart_dir = resolve_chart_dir(inputs.chart)
    return compute(chart_dir, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name)


def render(
    inputs: Inputs, *, namespace: str = DEFAULT_NAMESPACE, engine: Engine | str = "auto"
) -> tuple[AppValues, Rendered]:
    """Compute the values and render the chart with them; the release name is the app-name."""
    validate_namespace(namespace)
    chosen = engine_of(engine)
    chart_dir = resolve_chart_dir(inputs.chart)
    app = compute_checked(chart_dir, inputs, chosen)
    return app, chosen.render(chart_dir, app.values, release=app.app_name, namespace=namespace)


def compute_checked(chart_dir: Path, inputs: Inputs, engine: Engine) -> AppValues:
    """The app's values, checked by the engine's own validator when it has one (the embedded SDK does).

    One render then costs one schema library (Helm's, already loaded), not two; `render_many`
    uses the compiled jsonschema-rs check instead, which is cheaper per app once loaded.
    """

    def helms_own(values: dict[str, Any]) -> str | None:
        return engine.schema_problem(chart_dir, values)

    quick = helms_own if engine.name == "embedded" else None  # None: jsonschema-rs
    return compute(chart_dir, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name, quick_check=quick)


def values(inputs: Inputs, *, engine: Engine | str = "auto") -> AppValues:
    """The computed values (what `sparkhelm values` prints, for `helm install -f`); refused if the chart refuses."""
    return render(inputs, engine=engine)[0]


def explain(inputs: Inputs, *, engine: Engine | str = "auto") -> list[Explained]:
    """Every effective value with its source (chart default, file, flag, computed), in the chart's order."""
    from sparkhelm.spec.explain import explain as explain_values

    app, _ = render(inputs, engine=engine)
    chart_dir = resolve_chart_dir(inputs.chart)
    return explain_values(chart_dir, app, inputs.values_files, inputs.sets, inputs.set_strings, inputs.name)


def render_many(
    inputs: Iterable[Inputs],
    *,
    namespace: str = DEFAULT_NAMESPACE,
    engine: Engine | str = "auto",
    workers: int | None = None,
) -> list[tuple[AppValues, Rendered]]:
    """Render many applications in one process, in order: for pipelines that template a whole fleet.

    The chart is loaded once; each application's values are computed and rendered on a pool of
    `workers` threads (default: one per CPU). The embedded engine runs Helm's Go code outside the
    GIL, so the threads render in parallel. The first invalid application raises its UserError.
    """
    validate_namespace(namespace)
    chosen = engine_of(engine)
    items = list(inputs)
    count = max(1, min(workers or os.cpu_count() or 1, len(items)))

    def one(item: Inputs) -> tuple[AppValues, Rendered]:
        chart_dir = resolve_chart_dir(item.chart)
        app = compute(chart_dir, item.values_files, item.sets, item.set_strings, item.name)  # jsonschema-rs
        rendered = chosen.render(chart_dir, app.values, release=app.app_name, namespace=namespace, prevalidated=True)
        return app, rendered

    if count == 1:
        return [one(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # deferred: only batches use threads

    with ThreadPoolExecutor(count, thread_name_prefix="sparkhelm-render") as pool:
        return list(pool.map(one, items))


class DryRun(NamedTuple):
    """What `run` would do: the app, where (and why there), the objects in install order, the warnings."""

    app_name: str
    namespace: str
    namespace_source: str
    engine: str
    objects: list[tuple[str, str]]
    warnings: list[str]
    notes: str = ""


def dry_run(inputs: Inputs, *, kube: KubeTarget | None = None, engine: Engine | str = "auto") -> DryRun:
    """Everything `run` does before it talks to a cluster, in the namespace the real run would use."""
    from sparkhelm.kube.connection import KubeTarget, resolve_for_dry_run
    from sparkhelm.ops.preflight import value_warnings

    chosen = engine_of(engine)
    namespace, source = resolve_for_dry_run(kube or KubeTarget())
    app, rendered = render(inputs, namespace=namespace, engine=chosen)
    objects = [
        (str(obj.get("kind")), str((obj.get("metadata") or {}).get("name")))
        for obj in parse_manifest(rendered.manifest)
    ]
    return DryRun(
        app_name=app.app_name,
        namespace=namespace,
        namespace_source=source,
        engine=chosen.name,
        objects=objects,
        warnings=value_warnings(app.values),
        notes=rendered.notes,
    )
