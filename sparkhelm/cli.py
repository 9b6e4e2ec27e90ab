"""The `sparkhelm` command: parse flags, call `sparkhelm.api`, print, exit 0/1/2.

Errors are one line on stderr (`sparkhelm: error: ...`), never a traceback: usage errors from
flag parsing exit 2, bad values exit 2, runtime failures exit 1.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer._click.exceptions import UsageError  # Typer >= 0.29 vendors click as typer._click
from typer.core import TyperGroup

from sparkhelm import __version__, flags
from sparkhelm.errors import PREFIX, SparkhelmError, one_line


def _fail(message: str, code: int) -> None:
    typer.echo(f"{PREFIX}{message}", err=True)
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
            _fail(*one_line(exc))
        except Exception as exc:  # a bug, not the user's doing: one line unless asked for the traceback
            if os.environ.get("SPARKHELM_DEBUG"):
                raise
            _fail(*one_line(exc))
        sys.exit(result if isinstance(result, int) else 0)


def _new_app() -> typer.Typer:
    return typer.Typer(
        cls=_OneLineErrors,
        name="sparkhelm",
        help="Run Apache Spark applications on Kubernetes in client mode, one Helm release each.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        # Plain help text: Typer's rich formatter costs about 70 ms of imports on every `--help`.
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


app = _new_app()


def _option(flag: flags.Flag) -> Any:
    return typer.Option(*flag.names, help=flag.help, metavar=flag.metavar, envvar=flag.envvar)


ValuesOpt = Annotated[list[str] | None, _option(flags.VALUES)]
SetOpt = Annotated[list[str] | None, _option(flags.SET)]
SetStringOpt = Annotated[list[str] | None, _option(flags.SET_STRING)]
NameOpt = Annotated[str | None, _option(flags.NAME)]
NamespaceOpt = Annotated[str, _option(flags.NAMESPACE)]
EngineOpt = Annotated[str, _option(flags.ENGINE)]
ChartOpt = Annotated[str | None, _option(flags.CHART)]
OutputOpt = Annotated[str, typer.Option("--output", "-o", help="Output format: table, json or yaml.")]


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
    from sparkhelm.fastpath import print_template

    print_template(values, sets, set_strings, name, namespace, engine, chart)


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

    computed = api.compute_values(flags.inputs(values, sets, set_strings, name, chart))
    sys.stdout.write(to_yaml(computed.values))


@app.command()
def init(
    python: Annotated[bool, typer.Option("--python", help="A PySpark application (the default).")] = False,
    scala: Annotated[bool, typer.Option("--scala", help="A JVM application with a main class.")] = False,
    output_file: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout.", metavar="FILE")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    chart: ChartOpt = None,
) -> None:
    """Write a commented starter values file (the chart's own comments); it renders as it is."""
    from pathlib import Path

    from sparkhelm import chartfiles, starter
    from sparkhelm.errors import UserError

    if python and scala:
        raise UserError("init: choose one of --python and --scala")
    text = starter.starter(chartfiles.resolve_chart_dir(chart), "scala" if scala else "python")
    if output_file is None:
        sys.stdout.write(text)
        return
    starter.write(text, Path(output_file), force=force)
    _note(f"wrote {output_file}; next: sparkhelm run -f {output_file} --dry-run")


@app.command()
def explain(
    values: ValuesOpt = None,
    sets: SetOpt = None,
    set_strings: SetStringOpt = None,
    name: NameOpt = None,
    chart: ChartOpt = None,
    output: OutputOpt = "table",
    changed: Annotated[bool, typer.Option("--changed", help="Only values that are not the chart's defaults.")] = False,
) -> None:
    """Every value the chart will see, with its source: chart default, file, flag, or computed."""
    from sparkhelm import api
    from sparkhelm.explain import CHART_DEFAULT, shown
    from sparkhelm.output import check_format, structured, table

    check_format(output)
    rows = api.explain(flags.inputs(values, sets, set_strings, name, chart))
    if changed:
        rows = [row for row in rows if row.source != CHART_DEFAULT]
    if output != "table":
        sys.stdout.write(structured([row.to_dict() for row in rows], output))
        return
    sys.stdout.write(table(["key", "value", "source"], [[row.key, shown(row.value), row.source] for row in rows]))


KubeconfigOpt = Annotated[
    str | None, typer.Option("--kubeconfig", help="Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config.")
]
ContextOpt = Annotated[str | None, typer.Option("--kube-context", help="Kubeconfig context. Default: current.")]
ClusterNamespaceOpt = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Namespace. Default: the context's, else default.")
]
AllNamespacesOpt = Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")]


def _kube(kubeconfig: str | None, context: str | None, namespace: str | None) -> Any:
    from sparkhelm.target import KubeTarget

    return KubeTarget(kubeconfig=kubeconfig, context=context, namespace=namespace)


def _note(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def run(
    values: ValuesOpt = None,
    sets: SetOpt = None,
    set_strings: SetStringOpt = None,
    name: NameOpt = None,
    namespace: ClusterNamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
    engine: EngineOpt = "auto",
    chart: ChartOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate and render; send nothing to a cluster.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the driver; exit 0 if it succeeds, 1 if not.")] = False,
    logs: Annotated[bool, typer.Option("--logs", help="Stream the driver log while waiting (implies --wait).")] = False,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="Stop waiting after this long (90s, 15m, 2h).", metavar="D")
    ] = None,
    cleanup: Annotated[
        bool, typer.Option("--cleanup", help="Uninstall the app after it ends (implies --wait).")
    ] = False,
    archive_logs: Annotated[
        str | None,
        typer.Option(
            "--archive-logs", help="Save driver log and status to DIR/<app>/ (implies --wait).", metavar="DIR"
        ),
    ] = None,
) -> None:
    """Submit the application; with --wait, follow it and exit with Spark's result."""
    from sparkhelm import api
    from sparkhelm.durations import parse_duration
    from sparkhelm.errors import UserError

    inputs = flags.inputs(values, sets, set_strings, name, chart)
    following = wait or logs or cleanup or archive_logs is not None
    seconds = parse_duration(timeout, "--timeout") if timeout is not None else None
    if dry_run:
        if following or timeout is not None:
            raise UserError(
                "run: --wait, --logs, --timeout, --cleanup and --archive-logs need a cluster; drop --dry-run"
            )
        planned = api.dry_run(inputs, namespace=namespace or api.DEFAULT_NAMESPACE, engine=engine)
        typer.echo(f"app: {planned.app_name}")
        typer.echo(f"namespace: {planned.namespace}")
        typer.echo(f"engine: {planned.engine}")
        typer.echo("would install:")
        for kind, object_name in planned.objects:
            typer.echo(f"  {kind}/{object_name}")
        typer.echo("dry run: nothing was sent to a cluster")
        return
    if timeout is not None and not following:
        raise UserError("--timeout limits --wait: add --wait (or --logs / --cleanup)")
    from sparkhelm.progress import Waiting

    shown: list[api.Submission] = []

    def show(submission: api.Submission) -> None:
        shown.append(submission)
        for warning in submission.warnings:
            _note(f"sparkhelm: warning: {warning}")
        typer.echo(f"app:        {submission.app_name}")
        typer.echo(f"namespace:  {submission.namespace}")
        typer.echo(f"driver pod: {submission.driver_pod}")
        typer.echo(f"ui:         {submission.ui_url or submission.ui_command}")
        typer.echo(f"logs:       {submission.logs_command}")
        waiting.what = f"waiting for {submission.app_name}"

    try:
        # The driver log goes to stdout with --logs, so the spinner (stderr, terminals only) waits without it.
        with Waiting("waiting", spinner=not logs) as waiting:
            result = api.run(
                inputs,
                kube=_kube(kubeconfig, kube_context, namespace),
                engine=engine,
                wait=wait,
                logs=logs,
                timeout=seconds,
                cleanup=cleanup,
                archive_logs=archive_logs,
                echo=typer.echo,
                notice=waiting.notice,
                submitted=show,
            )
    except KeyboardInterrupt:
        if not shown:
            raise
        _note(
            f"sparkhelm: stopped following {shown[0].app_name}; it keeps running. "
            f"Delete it with: sparkhelm delete {shown[0].app_name} -n {shown[0].namespace}"
        )
        sys.exit(130)
    submission, outcome = result.submission, result.outcome
    if outcome is None:
        return
    for path in result.archived:
        _note(f"archived {path}")
    if result.deleted:
        _note(f"deleted {submission.app_name}")
    app_state = outcome.app
    if outcome.succeeded:
        _note(f"{submission.app_name} succeeded")
        return
    detail = f"exit code {app_state.exit_code}" if app_state.exit_code is not None else app_state.phase
    message = f": {' '.join(app_state.message.split())}" if app_state.message else ""
    if outcome.log_tail:
        _note(f"last lines of the driver log:\n{outcome.log_tail.rstrip()}")
    _fail(f"{submission.app_name} failed ({detail}){message}", 1)


@app.command("list")
def list_command(
    namespace: ClusterNamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
) -> None:
    """List the apps of this chart: name, phase, age, priority class (one API call)."""
    import datetime

    from sparkhelm import api
    from sparkhelm.durations import format_duration
    from sparkhelm.output import check_format, structured, table

    check_format(output)
    apps = api.list_apps(kube=_kube(kubeconfig, kube_context, namespace), all_namespaces=all_namespaces)
    if output != "table":
        sys.stdout.write(structured([a.to_dict() for a in apps], output))
        return
    if not apps:
        _note("no apps found")
        return
    now = datetime.datetime.now(tz=datetime.UTC)
    headers = (["namespace"] if all_namespaces else []) + ["name", "phase", "age", "priority class"]
    rows = [
        ([a.namespace] if all_namespaces else []) + [a.name, a.phase, format_duration(a.age(now)), a.priority_class]
        for a in apps
    ]
    sys.stdout.write(table(headers, rows))


@app.command()
def status(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app name.")],
    namespace: ClusterNamespaceOpt = None,
    output: OutputOpt = "table",
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
) -> None:
    """Show an app: driver phase, executors by phase, start/finish, exit code, UI URL."""
    from sparkhelm import api
    from sparkhelm.output import check_format, fields, structured

    check_format(output)
    state = api.status(app_name, kube=_kube(kubeconfig, kube_context, namespace))
    if output != "table":
        sys.stdout.write(structured(state.to_dict(), output))
        return
    a = state.app
    executors = ", ".join(f"{count} {phase}" for phase, count in state.executors.items()) or "none"
    ui = state.ui or f"sparkhelm ui {a.name} -n {a.namespace}"
    rows: list[tuple[str, Any]] = [
        ("app", a.name),
        ("namespace", a.namespace),
        ("phase", a.phase + (f" ({a.reason})" if a.reason and a.phase != "Succeeded" else "")),
        ("driver pod", state.driver_pod),
        ("executors", executors),
        ("priority class", a.priority_class),
        ("created", a.created),
        ("started", a.started),
        ("finished", a.finished),
        ("exit code", a.exit_code),
        ("message", a.message),
        ("ui", ui),
    ]
    sys.stdout.write(fields(rows))


@app.command()
def logs(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app name.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the container ends.")] = False,
    executor: Annotated[
        str | None, typer.Option("--executor", help="An executor's log instead of the driver's (ID or pod).")
    ] = None,
    namespace: ClusterNamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
) -> None:
    """Print the driver's log (or an executor's)."""
    from sparkhelm import api

    try:
        api.logs(
            app_name,
            kube=_kube(kubeconfig, kube_context, namespace),
            follow_log=follow,
            executor=executor,
            echo=typer.echo,
        )
    except KeyboardInterrupt:
        sys.exit(130)


@app.command()
def delete(
    app_names: Annotated[list[str] | None, typer.Argument(metavar="APP...", help="Apps to delete.")] = None,
    all_finished: Annotated[
        bool, typer.Option("--all-finished", help="Delete every app whose driver has ended.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Return only when the app's objects are gone.")] = False,
    namespace: ClusterNamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
    engine: EngineOpt = "auto",
) -> None:
    """Uninstall apps (deleting an app that is already gone is not an error)."""
    from sparkhelm import api
    from sparkhelm.errors import UserError

    names = list(app_names or [])
    if not names and not all_finished:
        raise UserError("delete: name the apps (APP...) or pass --all-finished")
    if names and all_finished:
        raise UserError("delete: give either APP names or --all-finished, not both")
    kube = _kube(kubeconfig, kube_context, namespace)
    if all_finished:
        names = [a.name for a in api.finished_apps(kube=kube)]
        if not names:
            _note("no finished apps")
            return
    for app_name, removed in api.delete(names, kube=kube, engine=engine, wait=wait):
        typer.echo(f"deleted {app_name}" if removed else f"{app_name} was already gone")


@app.command()
def gc(
    older_than: Annotated[
        str,
        typer.Option("--older-than", help="Only apps that ended at least this long ago (30m, 2h, 1d).", metavar="D"),
    ] = "1h",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be deleted.")] = False,
    namespace: ClusterNamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
    engine: EngineOpt = "auto",
) -> None:
    """Uninstall finished apps (Succeeded or Failed) that ended before --older-than."""
    from sparkhelm import api
    from sparkhelm.durations import parse_duration

    seconds = parse_duration(older_than, "--older-than")
    chosen = api.gc(
        seconds,
        kube=_kube(kubeconfig, kube_context, namespace),
        engine=engine,
        dry_run=dry_run,
        all_namespaces=all_namespaces,
    )
    verb = "would delete" if dry_run else "deleted"
    for app_state in chosen:
        typer.echo(f"{verb} {app_state.namespace}/{app_state.name} ({app_state.phase})")
    _note(f"{len(chosen)} finished app(s) {verb}" if chosen else f"no apps finished more than {older_than} ago")


@app.command()
def ui(
    app_name: Annotated[str, typer.Argument(metavar="APP", help="The app name.")],
    port: Annotated[int, typer.Option("--port", help="Local port (0: any free port).")] = 4040,
    namespace: ClusterNamespaceOpt = None,
    kubeconfig: KubeconfigOpt = None,
    kube_context: ContextOpt = None,
) -> None:
    """Forward a local port to the driver's Spark UI and print its URL, until Ctrl-C."""
    from sparkhelm import api

    forwarder = api.open_ui(app_name, kube=_kube(kubeconfig, kube_context, namespace), local_port=port)
    typer.echo(f"Spark UI of {app_name}: {forwarder.url}  (Ctrl-C to stop)")
    try:
        forwarder.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        forwarder.stop()


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


def app_for(argv: list[str]) -> typer.Typer:
    """The app to run for this command line: only the named command when there is one.

    Typer turns every command's signature into click parameters on each start (about 15 ms for
    the whole tree); one command is all a run needs. The root help, completion, typos and
    `--version` get the whole app.
    """
    name = argv[0] if argv else None
    chosen = [c for c in app.registered_commands if (c.name or _command_name(c)) == name]
    if not chosen:
        return app
    single = _new_app()
    single.registered_callback = app.registered_callback
    single.registered_commands = chosen
    return single


def _command_name(command: Any) -> str:
    return str(command.callback.__name__).lower().replace("_", "-")


def main() -> None:
    """Console-script entry point."""
    app_for(sys.argv[1:])()
