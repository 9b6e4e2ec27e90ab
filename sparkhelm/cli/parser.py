"""The flags every command shares, declared once, and a parser whose errors are one line.

argparse (standard library) rather than Typer: importing Typer and its click costs more than the
whole `--help` budget (benchmarks/RESULTS.md), and one argparse parser serves every command, so no
second, hand-written parser is needed for the fast paths.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, NoReturn

from sparkhelm.errors import PREFIX


class Parser(argparse.ArgumentParser):
    """argparse with sparkhelm's error contract: one line on stderr naming the flag, exit 2."""

    def error(self, message: str) -> NoReturn:
        """Usage errors: `sparkhelm: error: sparkhelm run: <what> (see 'sparkhelm run --help')`."""
        text = " ".join(message.split())
        where = "" if " " not in self.prog else f"{self.prog}: "
        sys.stderr.write(f"{PREFIX}{where}{text} (see '{self.prog} --help')\n")
        sys.exit(2)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def command(subparsers: Any, name: str, help_text: str, description: str | None = None) -> Parser:
    """A subcommand's parser."""
    parser: Parser = subparsers.add_parser(
        name, help=help_text, description=description or help_text, formatter_class=_Formatter
    )
    parser.set_defaults(command_parser=parser)
    return parser


def root_parser(prog: str = "sparkhelm") -> Parser:
    """The top-level parser."""
    return Parser(
        prog=prog,
        description="Run Apache Spark applications on Kubernetes in client mode, one Helm release each.",
        formatter_class=_Formatter,
    )


def _env(name: str, default: str | None) -> str | None:
    """A default from the environment; an empty variable counts as unset."""
    return os.environ.get(name) or default


#: Set by the Helm plugin's launcher (helm-plugin/): then Helm's own environment gives the defaults.
PLUGIN_MARK = "SPARKHELM_HELM_PLUGIN"


def from_helm(name: str) -> str | None:
    """A value Helm hands its plugins (HELM_NAMESPACE, HELM_KUBECONTEXT), when running as `helm sparkhelm`.

    Helm consumes `-n` and `--kube-context` itself, even after the plugin's name, and passes them on
    only in its environment; outside a plugin these variables are ignored, as sparkhelm's own flags rule.
    """
    if not os.environ.get(PLUGIN_MARK):
        return None
    return os.environ.get(name) or None


def add_values_flags(parser: Parser, *, name: bool = True) -> None:
    """-f/--values, --set, --set-string (Helm's syntax and precedence), --name, --chart."""
    group = parser.add_argument_group("values")
    group.add_argument(
        "-f",
        "--values",
        dest="values_files",
        action="append",
        default=[],
        metavar="FILE",
        help="Values file (repeatable; later files win; - reads standard input).",
    )
    group.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="K=V",
        help="Set a value, Helm syntax: a.b=c, list={x,y} (repeatable).",
    )
    group.add_argument(
        "--set-string",
        dest="set_strings",
        action="append",
        default=[],
        metavar="K=V",
        help="Like --set, but every value stays a string.",
    )
    if name:
        group.add_argument(
            "--name", metavar="APP", help="Exact app name (DNS-1035, <= 47 chars). Default: a unique generated name."
        )
    add_chart_flag(group)


def add_chart_flag(parser: Any) -> None:
    """--chart (default: $SPARKHELM_CHART, else the bundled chart)."""
    parser.add_argument(
        "--chart",
        default=_env("SPARKHELM_CHART", None),
        metavar="DIR",
        help="Chart directory. Default: $SPARKHELM_CHART, else the bundled chart.",
    )


def add_engine_flag(parser: Parser) -> None:
    """--engine."""
    parser.add_argument(
        "--engine",
        default=_env("SPARKHELM_ENGINE", "auto"),
        metavar="ENGINE",
        help="Helm engine: auto (a helm binary on PATH, else embedded), embedded or helm. "
        "Default: $SPARKHELM_ENGINE, else auto.",
    )


def add_cluster_flags(parser: Parser, *, all_namespaces: bool = False) -> None:
    """-n/--namespace, --kubeconfig, --kube-context (and -A), resolved like kubectl."""
    group = parser.add_argument_group("cluster")
    group.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        default=from_helm("HELM_NAMESPACE"),
        help="Namespace. Default: the context's, else default.",
    )
    if all_namespaces:
        group.add_argument("-A", "--all-namespaces", action="store_true", help="Every namespace.")
    group.add_argument(
        "--kubeconfig", metavar="FILE", help="Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config."
    )
    group.add_argument(
        "--kube-context",
        metavar="CTX",
        default=from_helm("HELM_KUBECONTEXT"),
        help="Kubeconfig context. Default: the current one.",
    )


def add_output_flag(parser: Parser) -> None:
    """-o/--output table|json|yaml."""
    parser.add_argument(
        "-o", "--output", choices=("table", "json", "yaml"), default="table", help="Output format (default: table)."
    )


def inputs(args: argparse.Namespace) -> Any:
    """The render flags as `Inputs`."""
    from sparkhelm.spec.inputs import Inputs

    return Inputs(
        values_files=args.values_files,
        sets=args.sets,
        set_strings=args.set_strings,
        name=getattr(args, "name", None),
        chart=args.chart,
    )


def kube(args: argparse.Namespace) -> Any:
    """The cluster flags as a `KubeTarget`."""
    from sparkhelm.kube.connection import KubeTarget

    return KubeTarget(kubeconfig=args.kubeconfig, context=args.kube_context, namespace=args.namespace)


def note(message: str) -> None:
    """A progress or result line for people: stderr, so stdout stays the data."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def echo(line: str) -> None:
    """A line of data on stdout."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
