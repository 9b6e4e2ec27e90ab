"""Commands on running apps: list, status, logs, delete, gc, ui."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sparkhelm.cli import parser as flags


def list_apps(args: argparse.Namespace) -> None:
    """List the apps of this chart: name, phase, age, priority class."""
    import datetime

    from sparkhelm.cli.connect import list_columns
    from sparkhelm.cli.output import structured, table
    from sparkhelm.ops.inspect import list_apps as read_apps
    from sparkhelm.spec.durations import format_duration

    apps = read_apps(kube=flags.kube(args), all_namespaces=args.all_namespaces)
    if args.output != "table":
        sys.stdout.write(structured([a.to_dict() for a in apps], args.output))
        return
    if not apps:
        flags.note("no apps found")
        return
    now = datetime.datetime.now(tz=datetime.UTC)
    schedules = [a for a in apps if a.kind == "schedule"]
    apps = [a for a in apps if a.kind != "schedule"]
    headers = (["namespace"] if args.all_namespaces else []) + ["name", "phase", "age", "priority class"]
    rows = [
        ([a.namespace] if args.all_namespaces else [])
        + [a.name, a.phase, format_duration(a.age(now)), a.priority_class]
        for a in apps
    ]
    headers, rows = list_columns(apps, headers, rows, now)
    if rows:
        sys.stdout.write(table(headers, rows))
    if schedules:
        sys.stdout.write(("\n" if rows else "") + _schedules_table(schedules, now, args.all_namespaces))


def _schedules_table(schedules: list[Any], now: Any, all_namespaces: bool) -> str:
    """Scheduled apps (CronJobs): when they run, whether they are suspended, their latest run."""
    from sparkhelm.cli.output import table
    from sparkhelm.kube.apps import parse_time
    from sparkhelm.spec.durations import format_duration

    def ago(when: str | None) -> str:
        moment = parse_time(when)
        return f"{format_duration((now - moment).total_seconds())} ago" if moment else ""

    headers = (["namespace"] if all_namespaces else []) + [
        "schedule", "cron", "time zone", "suspend", "last schedule", "last run", "last run phase", "age"
    ]
    rows = [
        ([s.namespace] if all_namespaces else [])
        + [s.name, s.schedule, s.time_zone, str(s.suspend).lower(), ago(s.last_schedule), s.last_run,
           s.last_run_phase, format_duration(s.age(now))]
        for s in schedules
    ]
    return table(headers, rows)


def status(args: argparse.Namespace) -> None:
    """Show an app: driver phase, executors, times, exit code, failure, UI (and a Connect server's URL, activity)."""
    import datetime

    from sparkhelm.cli.connect import status_rows
    from sparkhelm.cli.output import fields, structured
    from sparkhelm.ops.inspect import status as read_status

    state = read_status(args.app, kube=flags.kube(args))
    if args.output != "table":
        sys.stdout.write(structured(state.to_dict(), args.output))
        return
    a = state.app
    if a.kind == "schedule":
        sys.stdout.write(_schedule_fields(state))
        return
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
        ("failure", a.failure),
        ("message", " ".join(a.message.split()) if a.failure else a.message),
        ("ui", ui),
    ]
    rows += status_rows(state, datetime.datetime.now(tz=datetime.UTC))
    sys.stdout.write(fields(rows))


def _schedule_fields(state: Any) -> str:
    """`status` of a scheduled app: its CronJob, then its runs (newest first) and the latest run's executors."""
    from sparkhelm.cli.output import fields
    from sparkhelm.spec.naming import AppNames
    from sparkhelm.spec.schedule import next_runs

    a = state.app
    ui_port = "4040:4040 (a running run's UI)"
    executors = ", ".join(f"{count} {phase}" for phase, count in state.executors.items()) or "none"
    following = "suspended" if a.suspend else next_runs(a.schedule, a.time_zone)[0].isoformat(timespec="minutes")
    runs = []
    for r in state.runs:
        line = f"{r['driver_pod']}  {r['phase']}"
        line += f" (exit code {r['exit_code']})" if r["exit_code"] not in (None, 0) else ""
        line += f"  started {r['started']}" if r["started"] else ""
        runs.append(line + (f"  finished {r['finished']}" if r["finished"] else ""))
    rows: list[tuple[str, Any]] = [
        ("app", a.name),
        ("namespace", a.namespace),
        ("kind", "schedule"),
        ("schedule", a.schedule),
        ("time zone", a.time_zone or "the cluster's (usually UTC)"),
        ("phase", a.phase),
        ("suspend", str(a.suspend).lower()),
        ("next run", following),
        ("last schedule", a.last_schedule),
        ("last run", a.last_run),
        ("last run phase", a.last_run_phase),
        ("executors", executors if state.runs else ""),
        ("created", a.created),
        ("ui", state.ui or f"kubectl port-forward -n {a.namespace} svc/{AppNames(a.name).ui_service} {ui_port}"),
    ]
    text = fields(rows)
    if runs:
        text += "runs (newest first; 'sparkhelm logs APP --run N' shows run N):\n"
        text += "".join(f"  {index}. {line}\n" for index, line in enumerate(runs, start=1))
    return text


def logs(args: argparse.Namespace) -> int:
    """Print the driver's (or an executor's) log; of a schedule, its latest run's (or --run N, --previous)."""
    from sparkhelm.ops.inspect import logs as read_logs

    try:
        read_logs(
            args.app, kube=flags.kube(args), follow_log=args.follow, executor=args.executor, echo=flags.echo,
            run=args.run, previous=args.previous,
        )
    except KeyboardInterrupt:
        return 130
    return 0


def describe_removal(removal: Any, *, qualified: bool = False) -> tuple[str, bool]:
    """One line for what deleting an app did, and whether it is all gone (or going)."""
    where = f"{removal.namespace}/{removal.app}" if qualified else removal.app
    if not removal.found:
        return f"no app {removal.app} in namespace {removal.namespace}", False
    if not removal.done:
        stuck = ", ".join(str(left) for left in removal.remaining if not left.terminating)
        return f"sparkhelm: error: {where}: still there after deleting: {stuck}", False
    going = removal.terminating
    suffix = f" ({len(going)} object(s) still terminating)" if going else ""
    return f"deleted {where}{suffix}", True


def delete(args: argparse.Namespace) -> int:
    """Delete apps."""
    from sparkhelm.errors import UserError
    from sparkhelm.ops.inspect import finished_apps
    from sparkhelm.ops.remove import delete as delete_apps
    from sparkhelm.spec.durations import parse_duration

    names = list(args.apps)
    if not names and not args.all_finished:
        raise UserError("delete: name the apps (APP...) or pass --all-finished")
    if names and args.all_finished:
        raise UserError("delete: give either APP names or --all-finished, not both")
    if args.timeout is not None and not args.wait:
        raise UserError("--timeout limits --wait: add --wait")
    wait = parse_duration(args.timeout, "--timeout") if args.timeout is not None else 300.0
    from sparkhelm.kube.cluster import Cluster
    from sparkhelm.spec.naming import validate_app_name

    for name in names:
        validate_app_name(name, source="APP")

    cluster = Cluster.of(flags.kube(args))
    if args.all_finished:
        names = [a.name for a in finished_apps(kube=cluster)]
        if not names:
            flags.note("no finished apps")
            return 0
    code = 0
    for removal in delete_apps(names, kube=cluster, engine=args.engine, wait=wait if args.wait else None):
        line, ok = describe_removal(removal)
        if not removal.found and args.ignore_not_found:
            flags.echo(f"{removal.app} was already gone")
            continue
        if ok:
            flags.echo(line)
        else:
            flags.note(line if line.startswith("sparkhelm:") else f"sparkhelm: error: {line}")
            code = 1
    return code


def gc(args: argparse.Namespace) -> int:
    """Delete apps that ended before --older-than."""
    from sparkhelm.ops.remove import gc as collect
    from sparkhelm.spec.durations import parse_duration

    seconds = parse_duration(args.older_than, "--older-than")
    collection = collect(
        seconds,
        kube=flags.kube(args),
        engine=args.engine,
        dry_run=args.dry_run,
        all_namespaces=args.all_namespaces,
        archive_logs=args.archive_logs,
    )
    chosen, removals = collection.chosen, collection.removals
    for warning in collection.warnings:
        flags.note(f"sparkhelm: warning: {warning}")
    if not chosen:
        flags.note(f"no apps ended more than {args.older_than} ago")
        return 0
    if args.dry_run:
        for app in chosen:
            flags.echo(f"would delete {app.namespace}/{app.name} ({app.phase})")
        flags.note(f"{len(chosen)} app(s) would be deleted")
        return 0
    phases = {(app.namespace, app.name): app.phase for app in chosen}
    done = 0
    for removal in removals:
        line, ok = describe_removal(removal, qualified=True)
        if ok:
            done += 1
            flags.echo(f"{line} ({phases[(removal.namespace, removal.app)]})")
        elif removal.found:
            flags.note(line)
    failed = len(removals) - done
    flags.note(f"{done} app(s) deleted" + (f", {failed} not: see above" if failed else ""))
    return 1 if failed else 0


def ui(args: argparse.Namespace) -> None:
    """Forward a local port to the driver's Spark UI."""
    from sparkhelm.ops.ui import open_ui

    forwarder = open_ui(args.app, kube=flags.kube(args), local_port=args.port)
    flags.echo(f"Spark UI of {args.app}: {forwarder.url}  (Ctrl-C to stop)")
    try:
        forwarder.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        forwarder.stop()


def register(subparsers: Any) -> None:
    """Add the commands of this module."""
    p = flags.command(subparsers, "list", "List the apps of this chart: name, phase, age, priority class.")
    flags.add_cluster_flags(p, all_namespaces=True)
    flags.add_output_flag(p)
    p.set_defaults(handler=list_apps)

    p = flags.command(
        subparsers, "status", "Show an app: driver phase, executors, start/finish, exit code, failure, UI."
    )
    p.add_argument("app", metavar="APP", help="The app name.")
    flags.add_cluster_flags(p)
    flags.add_output_flag(p)
    p.set_defaults(handler=status)

    p = flags.command(subparsers, "logs", "Print the driver's log (or an executor's).")
    p.add_argument("app", metavar="APP", help="The app name.")
    p.add_argument("-f", "--follow", action="store_true", help="Keep printing until the container ends.")
    p.add_argument("--executor", metavar="ID", help="An executor's log instead of the driver's (ID or pod name).")
    p.add_argument(
        "--run", metavar="N",
        help="A scheduled app's run: 1 = the latest (default), 2 = the one before..., or its driver pod or Job name.",
    )
    p.add_argument("--previous", action="store_true", help="A scheduled app's run before the latest (--run 2).")
    flags.add_cluster_flags(p)
    p.set_defaults(handler=logs)

    p = flags.command(
        subparsers,
        "delete",
        "Delete apps: their Helm release and every object labelled with their name.",
        "Delete apps: uninstall the Helm release if there is one, then delete what is left of the app by the\n"
        "chart's labels (apps made with kubectl apply too). Exit 1 when an app is not found or not all gone.",
    )
    p.add_argument("apps", nargs="*", metavar="APP", help="Apps to delete.")
    p.add_argument("--all-finished", action="store_true", help="Delete every app whose driver has ended or is gone.")
    p.add_argument("--wait", action="store_true", help="Return only when the apps' objects are gone.")
    p.add_argument("--timeout", metavar="D", help="How long --wait waits (default 5m).")
    p.add_argument("--ignore-not-found", action="store_true", help="An app that does not exist is not an error.")
    flags.add_cluster_flags(p)
    flags.add_engine_flag(p)
    p.set_defaults(handler=delete)

    p = flags.command(
        subparsers,
        "gc",
        "Delete apps that finished (or lost their driver) longer ago than their ttl, else --older-than.",
    )
    p.add_argument(
        "--older-than",
        default="1h",
        metavar="D",
        help="Apps without a ttl value: only those that ended at least this long ago (30m, 2h, 1d; default 1h).",
    )
    p.add_argument("--dry-run", action="store_true", help="Only list what would be deleted.")
    p.add_argument(
        "--archive-logs", metavar="DIR", help="Save each app's driver log and status to DIR/<namespace>/<app>/ first."
    )
    flags.add_cluster_flags(p, all_namespaces=True)
    flags.add_engine_flag(p)
    p.set_defaults(handler=gc)

    p = flags.command(
        subparsers, "ui", "Forward a local port to the driver's Spark UI and print its URL, until Ctrl-C."
    )
    p.add_argument("app", metavar="APP", help="The app name.")
    p.add_argument("--port", type=int, default=4040, help="Local port (0: any free port; default 4040).")
    flags.add_cluster_flags(p)
    p.set_defaults(handler=ui)
