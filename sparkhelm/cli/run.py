"""`sparkhelm run`: submit an application; with --wait, follow it and exit with Spark's result."""

from __future__ import annotations

import argparse
from typing import Any

from sparkhelm.cli import parser as flags


def _dry_run(args: argparse.Namespace) -> None:
    from sparkhelm.ops.render import dry_run

    planned = dry_run(flags.inputs(args), kube=flags.kube(args), engine=args.engine)
    for warning in planned.warnings:
        flags.note(f"sparkhelm: warning: {warning}")
    flags.echo(f"app: {planned.app_name}")
    flags.echo(f"namespace: {planned.namespace} ({planned.namespace_source})")
    flags.echo(f"engine: {planned.engine}")
    flags.echo("would install:")
    for kind, object_name in planned.objects:
        flags.echo(f"  {kind}/{object_name}")
    flags.echo("dry run: nothing was sent to a cluster")


def _schedule_flags(args: argparse.Namespace) -> None:
    """--schedule and --time-zone: checked, then added as `--set-string schedule.cron=...` (aliases of the values)."""
    from sparkhelm.errors import UserError
    from sparkhelm.spec import schedule

    if args.schedule is None and args.time_zone is None:
        return
    given = {"schedule": {"cron": args.schedule or "", "timeZone": args.time_zone or ""}}
    schedule.check(given, cron_source="--schedule", zone_source="--time-zone")
    if args.schedule is not None and not args.schedule.strip():
        raise UserError("--schedule is empty: give a cron expression such as '0 2 * * *', or drop --schedule")
    following = args.wait or args.logs or args.cleanup or args.archive_logs is not None or args.timeout is not None
    if args.schedule is not None and following:
        raise UserError(
            "--schedule starts its runs later: --wait, --logs, --timeout, --cleanup and --archive-logs do not "
            "apply; drop them, and follow the runs with 'sparkhelm status APP' and 'sparkhelm logs APP'"
        )

    def escaped(text: str) -> str:  # Helm's --set syntax: a comma separates assignments, a backslash escapes
        return text.replace("\\", "\\\\").replace(",", "\\,")

    if args.schedule is not None:
        args.set_strings = [*args.set_strings, f"schedule.cron={escaped(args.schedule.strip())}"]
    if args.time_zone is not None:
        args.set_strings = [*args.set_strings, f"schedule.timeZone={escaped(args.time_zone)}"]


def run(args: argparse.Namespace) -> int:
    """Submit the application; with --wait, follow it and exit with Spark's result."""
    from sparkhelm.errors import UserError
    from sparkhelm.spec.durations import parse_duration

    _schedule_flags(args)
    if args.retries < 0:
        raise UserError(f"--retries {args.retries}: give 0 or more attempts to add")
    following = (
        args.wait or args.logs or args.cleanup or args.archive_logs is not None or args.retries > 0
        or args.start_timeout is not None
    )
    seconds = parse_duration(args.timeout, "--timeout") if args.timeout is not None else None
    start = parse_duration(args.start_timeout, "--start-timeout") if args.start_timeout is not None else None
    backoff = parse_duration(args.retry_backoff, "--retry-backoff")
    if args.dry_run:
        if following or args.timeout is not None:
            raise UserError(
                "run: --wait, --logs, --timeout, --cleanup and --archive-logs need a cluster; drop --dry-run"
            )
        _dry_run(args)
        return 0
    if args.timeout is not None and not following:
        raise UserError("--timeout limits --wait: add --wait (or --logs / --cleanup)")
    from sparkhelm.cli.progress import Waiting
    from sparkhelm.ops.run import run as run_app
    from sparkhelm.ops.submit import Submission

    shown: list[Submission] = []

    def show(submission: Submission) -> None:
        shown.append(submission)
        for warning in submission.warnings:
            flags.note(f"sparkhelm: warning: {warning}")
        flags.echo(f"app:        {submission.app_name}")
        flags.echo(f"namespace:  {submission.namespace}")
        if submission.schedule:
            _show_schedule(submission)
            return
        flags.echo(f"driver pod: {submission.driver_pod}")
        flags.echo(f"ui:         {submission.ui_url or submission.ui_command}")
        flags.echo(f"logs:       {submission.logs_command}")
        waiting.what = f"waiting for {submission.app_name}"

    try:
        # The driver log goes to stdout with --logs, so the spinner (stderr, terminals only) waits without it.
        with Waiting("waiting", spinner=not args.logs) as waiting:
            result = run_app(
                flags.inputs(args),
                kube=flags.kube(args),
                engine=args.engine,
                wait=args.wait,
                logs=args.logs,
                timeout=seconds,
                start_timeout=start,
                retries=args.retries,
                retry_backoff=backoff,
                retry_app_failures=args.retry_app_failures,
                cleanup=args.cleanup,
                archive_logs=args.archive_logs,
                echo=flags.echo,
                notice=waiting.notice,
                submitted=show,
            )
    except KeyboardInterrupt:
        if not shown:
            raise
        flags.note(
            f"sparkhelm: stopped following {shown[0].app_name}; it keeps running. "
            f"Delete it with: sparkhelm delete {shown[0].app_name} -n {shown[0].namespace}"
        )
        return 130
    return report(result)


def _show_schedule(submission: Any) -> None:
    """What a scheduled app's install says: when it runs next, and where its runs are seen."""
    from sparkhelm.spec.schedule import next_runs

    zone = submission.time_zone or "the cluster's time zone, usually UTC"
    following = next_runs(submission.schedule, submission.time_zone)[0]
    context = submission.connection.context
    where = f"-n {submission.namespace}" + (f" --kube-context {context}" if context else "")
    flags.echo(f"schedule:   {submission.schedule} ({zone})")
    flags.echo(f"next run:   {following.isoformat(timespec='minutes')}")
    flags.echo(f"runs:       sparkhelm status {submission.app_name} {where}")
    flags.echo(f"logs:       sparkhelm logs {submission.app_name} {where} (the latest run)")


def report(result: Any) -> int:
    """The end of a followed run on stderr; the exit code: 0 succeeded, 1 failed or cannot start."""
    submission, outcome = result.submission, result.outcome
    if outcome is None:
        return 0
    for path in result.archived:
        flags.note(f"archived {path}")
    if result.removal is not None:
        from sparkhelm.cli.apps import describe_removal

        line, ok = describe_removal(result.removal)
        flags.note(line)
        if not ok:
            return 1
    app = outcome.app
    if outcome.succeeded:
        flags.note(f"{submission.app_name} succeeded")
        return 0
    if not outcome.started:
        detail = f"{app.reason}: {' '.join(app.message.split())}" if app.message else app.reason
        where = f"-n {submission.namespace}"
        tail = (
            "" if result.removal is not None else f"; delete it with 'sparkhelm delete {submission.app_name} {where}'"
        )
        flags.note(f"sparkhelm: error: {submission.app_name} cannot start ({detail}){tail}")
        return 1
    detail = f"exit code {app.exit_code}" if app.exit_code is not None else app.phase
    why = app.failure or " ".join(app.message.split())
    if outcome.log_tail:
        flags.note(f"last lines of the driver log:\n{outcome.log_tail.rstrip()}")
    flags.note(f"sparkhelm: error: {submission.app_name} failed ({detail})" + (f": {why}" if why else ""))
    return 1


def register(subparsers: Any) -> None:
    """Add `run`."""
    p = flags.command(subparsers, "run", "Submit the application; with --wait, follow it and exit with Spark's result.")
    flags.add_values_flags(p)
    flags.add_cluster_flags(p)
    flags.add_engine_flag(p)
    group = p.add_argument_group("running")
    group.add_argument("--dry-run", action="store_true", help="Validate and render; send nothing to a cluster.")
    group.add_argument("--wait", action="store_true", help="Follow the driver; exit 0 if it succeeds, 1 if not.")
    group.add_argument("--logs", action="store_true", help="Stream the driver log while waiting (implies --wait).")
    group.add_argument("--timeout", metavar="D", help="Stop waiting after this long (90s, 15m, 2h).")
    group.add_argument("--cleanup", action="store_true", help="Delete the app after it ends (implies --wait).")
    group.add_argument(
        "--start-timeout", metavar="D",
        help="A driver still Pending after D fails the run, with the scheduler's reason (implies --wait).",
    )
    group.add_argument(
        "--retries", type=int, default=0, metavar="N",
        help="Submit again up to N times when the cluster failed the app: evicted, node lost, image pull, "
        "--start-timeout (implies --wait). An app's own failure only with --retry-app-failures.",
    )
    group.add_argument(
        "--retry-backoff", default="10s", metavar="D", help="First wait before a retry, doubled each time."
    )
    group.add_argument(
        "--retry-app-failures", action="store_true", help="With --retries, also retry when Spark itself failed."
    )
    group.add_argument(
        "--archive-logs", metavar="DIR", help="Save the driver log and status to DIR/<app>/ (implies --wait)."
    )
    group = p.add_argument_group("scheduled runs (a CronJob: each run is a Job whose pod is the driver)")
    group.add_argument(
        "--schedule", metavar="CRON",
        help="Run on this schedule instead of now: '0 2 * * *', '@daily' (sets schedule.cron).",
    )
    group.add_argument(
        "--time-zone", metavar="TZ",
        help="Time zone of the schedule: Europe/Paris (sets schedule.timeZone; default: the cluster's).",
    )
    p.set_defaults(handler=run)
