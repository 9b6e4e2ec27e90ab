"""In-process batch rendering through the Python API: many applications, chart loaded once."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.report import Result, timed

ROOT = Path(__file__).resolve().parent.parent
PROD = ROOT / "values" / "prod.yaml"


def batch_render(apps: int, repeat: int) -> list[Result]:
    """Milliseconds per app of `api.render_many` over `apps` distinct applications (values computed per app)."""
    from sparkhelm import api
    from sparkhelm.engine.embedded import EmbeddedEngine

    engine = EmbeddedEngine()
    inputs = [
        api.Inputs(values_files=[PROD], sets=[f"executor.instances={i % 8 + 1}"], name=f"batch-{i:04d}")
        for i in range(apps)
    ]
    api.render(inputs[0], engine=engine)  # the chart is loaded once, before the clock starts
    out = []
    cpus = os.cpu_count() or 1
    for workers in sorted({1, cpus}):
        times = timed(lambda w=workers: api.render_many(inputs, engine=engine, workers=w), repeat)  # type: ignore[misc]
        per_app = min(times) / apps * 1000
        budget = 5.0 if workers == cpus else None
        out.append(Result(f"batch render of {apps} apps, workers={workers}", per_app, "ms/app", budget,
                          f"api.render_many, best of {repeat} batches"))
    return out
