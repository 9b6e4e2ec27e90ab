"""Where the milliseconds of `sparkhelm template` go: its steps, one after the other, each timed.

Run as its own process (`python benchmarks/anatomy.py VALUES NAME NAMESPACE`); it prints the
manifests as `template` does, then one JSON line on stderr: seconds per step. It takes the path
`sparkhelm template` takes through sparkhelm's modules, without the thread that loads the Helm SDK
while Python imports the rest, so that each step has its own figure; the benchmark compares the
sum with the real command (the difference is what that overlap saves). After the output it
renders again a few times, with and without the chart's schema, to price Helm's schema check
inside a render.
"""

import time

START = time.perf_counter()
MARKS: list[tuple[str, float]] = []


def mark(step: str) -> None:
    """Close a step."""
    MARKS.append((step, time.perf_counter()))


import sys  # noqa: E402 - after the clock starts, like everything this probe measures

import yaml  # noqa: E402, F401 - what `-f` needs (PyYAML and libyaml)

mark("import PyYAML")

from sparkhelm.cli import build_parser  # noqa: E402

values_file, app, namespace = sys.argv[1], sys.argv[2], sys.argv[3]
args = build_parser().parse_args(["template", "-f", values_file, "--name", app, "-n", namespace])
mark("argparse CLI: sparkhelm.cli, its parsers, the command line")

from sparkhelm.chart import files  # noqa: E402
from sparkhelm.engine import embedded, goruntime, manifests  # noqa: E402
from sparkhelm.ops import render as _render  # noqa: E402, F401 - the module `template` calls
from sparkhelm.spec import compute, layers  # noqa: E402

mark("import sparkhelm's modules for template (with the stdlib they use)")

goruntime.import_helm_sdk()
mark("import helm_python: the Go library loads, the Go runtime starts")

chart_dir = files.resolve_chart_dir(None)
chart = embedded._load(chart_dir)
mark("chart load (Helm SDK)")

user = layers.user_values([values_file], [], [])
effective = layers.coalesce(files.shared_default_values(chart_dir), user)
mark("values: read the file, merge over the chart's defaults")

engine = embedded.EmbeddedEngine()
assert engine.schema_problem(chart_dir, effective) is None
mark("Helm's schema check (sparkhelm's check of the values)")

name = compute.choose_app_name(effective, app)
computed = {"nameOverride": name, **{k: v for k, v in user.items() if k != "nameOverride"}}
templates = chart.render(computed, name=name, namespace=namespace, is_install=True)
mark("render (Helm SDK; the chart's schema is checked again inside)")

manifest, _notes = manifests.format_manifest(templates)
sys.stdout.write(manifest)
sys.stdout.flush()
mark("output: order and print the manifests")

import json  # noqa: E402 - the report, after the measured steps

steps: dict[str, float] = {}
previous = START
for step, at in MARKS:
    steps[step] = at - previous
    previous = at

extras_began = time.perf_counter()
unchecked = embedded._load_unchecked(chart_dir)
with_schema: list[float] = []
without_schema: list[float] = []
for _ in range(5):
    for loaded, into in ((chart, with_schema), (unchecked, without_schema)):
        began = time.perf_counter()
        loaded.render(computed, name=name, namespace=namespace, is_install=True)
        into.append(time.perf_counter() - began)
extra = {"warm render": sorted(with_schema)[2], "warm render without the schema": sorted(without_schema)[2],
         "pricing renders": time.perf_counter() - extras_began}
sys.stderr.write(json.dumps({"steps": steps, "extra": extra}) + "\n")
