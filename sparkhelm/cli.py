"""The `sparkhelm` command: parse flags, call `sparkhelm.api`, print, exit 0/1/2.

Errors are one line on stderr (`sparkhelm: error: ...`), never a traceback: usage errors from
flag parsing exit 2, bad values exit 2, runtime failures exit 1.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer._click.exceptions import UsageError  # Typer >= 0.29 vendors click as typer._click
from typer.core import TyperGroup

from sparkhelm import __version__
from sparkhelm.errors import SparkhelmError


def _fail(message: str, code: int) -> None:
    typer.echo(f"sparkhelm: error: {message}", err=True)
    sys.exit(code)


class _OneLineErrors(TyperGroup):
    """Report every user error as one line on stderr, with the exit codes of DESIGN.md."""

    def main(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - click's entry point
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "sparkhelm"
            message = " ".join(exc.format_message().split())
            _fail(f"{where}: {message} (see '{where} --help')", 2)
        except typer.Abort:
            _fail("aborted", 130)
        except SparkhelmError as exc:
            _fail(str(exc), exc.exit_code)
        sys.exit(result if isinstance(result, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="sparkhelm",
    help="Run Apache Spark applications on Kubernetes in client mode, one Helm release each.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ValuesOpt = Annotated[
    list[str] | None,
    typer.Option("--values", "-f", help="Values file (repeatable; later files win).", metavar="FILE"),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Set a value, Helm syntax: a.b=c, list={x,y} (repeatable).", metavar="K=V"),
]
SetStringOpt = Annotated[
    list[str] | None,
    typer.Option("--set-string", help="Like --set, but every value stays a string.", metavar="K=V"),
]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", help="Exact app name (DNS-1035, <= 47 chars). Default: unique generated name."),
]
NamespaceOpt = Annotated[str, typer.Option("--namespace", "-n", help="Kubernetes namespace.")]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        envvar="SPARKHELM_ENGINE",
        help="Helm engine: auto (helm binary if on PATH, else embedded), embedded or helm.",
    ),
]
ChartOpt = Annotated[
    str | None,
    typer.Option("--chart", envvar="SPARKHELM_CHART", help="Chart directory. Default: the bundled chart."),
]


def _inputs(
    values: list[str] | None,
    sets: list[str] | None,
    set_strings: list[str] | None,
    name: str | None,
    chart: str | None,
) -> Any:
    from sparkhelm.api import Inputs

    return Inputs(values_files=values or [], sets=sets or [], set_strings=set_strings or [], name=name, chart=chart)


def _version_callback(show: bool) -> None:
    if show:
        typer.echo(f"sparkhelm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Run Apache Spark applications on Kubernetes in client mode, one Helm release each."""


@app.command()
def template(
    values: ValuesOpt = None,
    sets: SetOpt = None,
    set_strings: SetStringOpt = None,
    name: NameOpt = None,
    namespace: NamespaceOpt = "default",
    engine: EngineOpt = "auto",
    chart: ChartOpt = None,
) -> None:
    """Print the application's Kubernetes objects as multi-document YAML."""
    from sparkhelm import api

    _, rendered = api.render(_inputs(values, sets, set_strings, name, chart), namespace=namespace, engine=engine)
    sys.stdout.write(rendered.manifest)


@app.command("values")
def values_command(
    values: ValuesOpt = None,
    sets: SetOpt = None,
    set_strings: SetStringOpt = None,
    name: NameOpt = None,
    chart: ChartOpt = None,
) -> None:
    """Print the computed chart values (for `helm install -f`, Helmfile or review)."""
    from sparkhelm import api
    from sparkhelm.values import to_yaml

    computed = api.compute_values(_inputs(values, sets, set_strings, name, chart))
    sys.stdout.write(to_yaml(computed.values))


@app.command()
def run(
    values: ValuesOpt = None,
    sets: SetOpt = None,
    set_strings: SetStringOpt = None,
    name: NameOpt = None,
    namespace: NamespaceOpt = "default",
    engine: EngineOpt = "auto",
    chart: ChartOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and render; send nothing to a cluster.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the driver until it ends.")] = False,
) -> None:
    """Submit the application (with --dry-run: show what would be installed)."""
    from sparkhelm import api
    from sparkhelm.errors import UserError

    inputs = _inputs(values, sets, set_strings, name, chart)
    if not dry_run:
        # Validate first, so bad input is reported as such, then say what this version can do.
        api.compute_values(inputs)
        raise UserError(
            "run: submitting to a cluster is not in this version yet; use --dry-run, or install the "
            "output of 'sparkhelm values' with 'helm install APP charts/spark-client-app -f FILE'"
        )
    if wait:
        raise UserError("run: --wait needs a cluster; it cannot be combined with --dry-run")
    result = api.dry_run(inputs, namespace=namespace, engine=engine)
    typer.echo(f"app: {result.app_name}")
    typer.echo(f"namespace: {result.namespace}")
    typer.echo(f"engine: {result.engine}")
    typer.echo("would install:")
    for kind, object_name in result.objects:
        typer.echo(f"  {kind}/{object_name}")
    typer.echo("dry run: nothing was sent to a cluster")


@app.command()
def version(chart: ChartOpt = None) -> None:
    """Print the versions of sparkhelm, the chart and Spark."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    from sparkhelm import chartfiles

    meta = chartfiles.chart_metadata(chartfiles.resolve_chart_dir(chart))
    try:
        sdk = package_version("helm-python-sdk")
    except PackageNotFoundError:
        sdk = "not installed"
    typer.echo(f"sparkhelm {__version__}")
    typer.echo(f"chart {meta['name']} {meta['version']} (Spark {meta.get('appVersion', '?')})")
    typer.echo(f"embedded engine: helm-python-sdk {sdk}")


def main() -> None:
    """Console-script entry point."""
    app()
