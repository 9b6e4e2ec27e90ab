"""Commands that need no cluster: template, values, explain, init."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sparkhelm.cli import parser as flags

#: The widest value `explain` prints in a table; `-o yaml` or `-o json` show every value whole.
EXPLAIN_VALUE_WIDTH = 60


def template(args: argparse.Namespace) -> None:
    """Print the application's Kubernetes objects as multi-document YAML."""
    from sparkhelm.ops.render import render

    _, rendered = render(flags.inputs(args), namespace=args.namespace, engine=args.engine)
    sys.stdout.write(rendered.manifest)


def values(args: argparse.Namespace) -> None:
    """Print the computed chart values (for `helm install -f`, Helmfile or review)."""
    from sparkhelm.ops.render import values as compute_values
    from sparkhelm.spec.layers import to_yaml

    sys.stdout.write(to_yaml(compute_values(flags.inputs(args), engine=args.engine).values))


def explain(args: argparse.Namespace) -> None:
    """Every value the chart will see, with its source."""
    from sparkhelm.cli.output import structured, table
    from sparkhelm.ops.render import explain as explain_values
    from sparkhelm.spec.explain import CHART_DEFAULT, shown

    rows = explain_values(flags.inputs(args), engine=args.engine)
    if args.changed:
        rows = [row for row in rows if row.source != CHART_DEFAULT]
    if args.output != "table":
        sys.stdout.write(structured([row.to_dict() for row in rows], args.output))
        return
    cells = [[row.key, _cut(shown(row.value)), row.source] for row in rows]
    sys.stdout.write(table(["key", "value", "source"], cells))


def _cut(text: str) -> str:
    return text if len(text) <= EXPLAIN_VALUE_WIDTH else text[: EXPLAIN_VALUE_WIDTH - 1] + "…"


def init(args: argparse.Namespace) -> None:
    """Write a commented starter values file."""
    from pathlib import Path

    from sparkhelm.chart import starter
    from sparkhelm.chart.files import resolve_chart_dir

    text = starter.starter(resolve_chart_dir(args.chart), "scala" if args.scala else "python")
    if args.output_file is None:
        sys.stdout.write(text)
        return
    starter.write(text, Path(args.output_file), force=args.force)
    flags.note(f"wrote {args.output_file}; next: sparkhelm run -f {args.output_file} --dry-run")


def register(subparsers: Any) -> None:
    """Add the commands of this module."""
    p = flags.command(subparsers, "template", "Print the application's Kubernetes objects as multi-document YAML.")
    flags.add_values_flags(p)
    p.add_argument(
        "-n",
        "--namespace",
        default=flags.from_helm("HELM_NAMESPACE") or "default",
        metavar="NS",
        help="Namespace to render for (default: default).",
    )
    flags.add_engine_flag(p)
    p.set_defaults(handler=template)

    p = flags.command(
        subparsers,
        "values",
        "Print the computed chart values (for helm install -f, Helmfile or review).",
        "Print the computed chart values: the user's values plus the app name sparkhelm computes. They are\n"
        "checked by a render, so `helm install -f` of the output installs what `sparkhelm run` would.",
    )
    flags.add_values_flags(p)
    flags.add_engine_flag(p)
    p.set_defaults(handler=values)

    p = flags.command(
        subparsers, "explain", "Every value the chart will see, with its source: chart default, file, flag, computed."
    )
    flags.add_values_flags(p)
    flags.add_engine_flag(p)
    flags.add_output_flag(p)
    p.add_argument("--changed", action="store_true", help="Only values that are not the chart's defaults.")
    p.set_defaults(handler=explain)

    p = flags.command(
        subparsers, "init", "Write a commented starter values file (the chart's own comments); it renders as it is."
    )
    language = p.add_mutually_exclusive_group()
    language.add_argument("--python", action="store_true", help="A PySpark application (the default).")
    language.add_argument("--scala", action="store_true", help="A JVM application with a main class.")
    p.add_argument("-o", "--output", dest="output_file", metavar="FILE", help="Write to FILE instead of stdout.")
    p.add_argument("--force", action="store_true", help="Overwrite FILE if it exists.")
    flags.add_chart_flag(p)
    p.set_defaults(handler=init)
