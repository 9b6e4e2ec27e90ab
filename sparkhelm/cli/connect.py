"""`sparkhelm connect`: a Spark Connect server for notebooks, forwarded to a local port until Ctrl-C.

Without --detach the server lives as long as the command when the command started it: Ctrl-C ends
the forward and removes it (a server found running, `--name` of one, is never removed). --detach
leaves it running and says how to reach it; --stop removes it. Also the Connect columns of `list`
and the Connect rows of `status`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
from collections.abc import Sequence
from typing import Any

from sparkhelm.cli import parser as flags


def _check(args: argparse.Namespace) -> float | None:
    """Flags that do not go together, as one line each (exit 2); the wait's timeout in seconds."""
    from sparkhelm.errors import UserError
    from sparkhelm.ops.connect import DEFAULT_TIMEOUT
    from sparkhelm.spec.durations import parse_duration

    if args.app is not None:
        if args.name is not None and args.name != args.app:
            raise UserError(f"connect: APP {args.app!r} and --name {args.name!r} differ: give the name once")
        args.name = args.app
    if args.stop:
        if args.name is None:
            raise UserError("connect --stop: name the server to remove with --name APP")
        given = [flag for flag, value in (("-f", args.values_files), ("--set", args.sets),
                                          ("--set-string", args.set_strings), ("--port", args.port is not None),
                                          ("--detach", args.detach), ("--timeout", args.timeout is not None)) if value]
        if given:
            raise UserError(f"connect --stop removes a server: drop {', '.join(given)}")
        return None
    if args.detach and args.port is not None:
        raise UserError("connect: --port is the local end of the forward, which --detach does not open: drop one")
    if args.port is not None and not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: a port is a number from 1 to 65535 (0: any free port)")
    return parse_duration(args.timeout, "--timeout") if args.timeout is not None else DEFAULT_TIMEOUT


def _stop(args: argparse.Namespace) -> int:
    from sparkhelm.cli.apps import describe_removal
    from sparkhelm.ops.connect import stop

    removal = stop(args.name, kube=flags.kube(args), engine=args.engine)
    line, ok = describe_removal(removal)
    if ok:
        flags.echo(line)
        return 0
    flags.note(line if line.startswith("sparkhelm:") else f"sparkhelm: error: {line}")
    return 1


def _show(server: Any, url: str | None) -> None:
    """What to connect to: the forwarded URL and a pyspark line, the in-cluster URL, the commands."""
    for warning in server.warnings:
        flags.note(f"sparkhelm: warning: {warning}")
    flags.echo(f"app:        {server.app}")
    flags.echo(f"namespace:  {server.namespace}")
    if url is not None:
        flags.echo(f"url:        {url}")
        flags.echo(f'pyspark:    from pyspark.sql import SparkSession; spark = SparkSession.builder.remote("{url}")'
                   ".getOrCreate()")
    token = f" (token: {server.token_source})" if server.token_source else ""
    flags.echo(f"in cluster: {server.in_cluster_url}{token}")
    if url is None:
        flags.echo(f"from here:  {server.connect_command}")
    flags.echo(f"stop:       {server.stop_command}")


def connect(args: argparse.Namespace) -> int:
    """Start (or find) a Spark Connect server, wait until it serves, forward a local port to it until Ctrl-C."""
    timeout = _check(args)
    if args.stop:
        return _stop(args)
    from sparkhelm.cli.progress import Waiting
    from sparkhelm.ops import connect as ops

    inputs = flags.inputs(args)
    started: list[Any] = []
    with Waiting("starting the Spark Connect server") as waiting:

        def remember(server: Any) -> None:
            started.append(server)
            waiting.what = f"waiting for {server.app} to serve"

        try:
            if args.detach:
                server = ops.serve(inputs, kube=flags.kube(args), engine=args.engine, timeout=timeout, keep=True,
                                   notice=waiting.notice, started=remember)
            else:
                port = ops.DEFAULT_LOCAL_PORT if args.port is None else args.port
                session = ops.connect(inputs, kube=flags.kube(args), engine=args.engine, local_port=port,
                                      timeout=timeout, notice=waiting.notice, started=remember)
        except KeyboardInterrupt:
            if started and args.detach:
                flags.note(f"sparkhelm: stopped waiting; {started[0].app} keeps starting. Remove it with: "
                           f"{started[0].stop_command}")
            return 130
    if args.detach:
        _show(server, None)
        return 0
    # From here on Ctrl-C (whenever it comes) ends the forward, and removes a server this command started.
    with contextlib.suppress(KeyboardInterrupt):
        _show(session.server, session.url)
        ending = "the server is removed" if session.created else "the server keeps running"
        flags.note(f"forwarding localhost:{session.local_port} to {session.server.driver_pod}:{session.server.port}; "
                   f"Ctrl-C ends it and {ending}")
        session.wait()
    if not session.created:
        session.close()
        flags.note(f"stopped forwarding; {session.app} keeps running ({session.server.stop_command} removes it)")
        return 0
    from sparkhelm.cli.apps import describe_removal

    line, ok = describe_removal(session.stop())
    flags.note(line if ok or line.startswith("sparkhelm:") else f"sparkhelm: error: {line}")
    return 0 if ok else 1


# --- list and status ------------------------------------------------------------------------------


def idle_text(app: Any, now: datetime.datetime) -> str:
    """How a Connect server is doing: `busy (N executors)`, `idle 12m`, `not ready`; "" for batch apps."""
    from sparkhelm.kube.apps import parse_time
    from sparkhelm.spec.durations import format_duration

    info = app.connect
    if info is None:
        return ""
    if info.executors:
        return f"busy ({info.executors} executor{'s' if info.executors != 1 else ''})"
    since = parse_time(info.idle_since)
    if since is not None:
        return f"idle {format_duration((now - since).total_seconds())}"
    return "not ready" if app.phase in ("Pending", "Running") else ""


def list_columns(
    apps: Sequence[Any], headers: list[str], rows: list[list[Any]], now: datetime.datetime
) -> tuple[list[str], list[list[Any]]]:
    """`list`'s table with CONNECT (the in-cluster URL) and ACTIVITY columns, when Connect servers are listed."""
    if not any(app.connect is not None for app in apps):
        return headers, rows
    extra = [[app.connect.url if app.connect else "", idle_text(app, now)] for app in apps]
    return headers + ["connect", "activity"], [row + more for row, more in zip(rows, extra, strict=True)]


def status_rows(state: Any, now: datetime.datetime) -> list[tuple[str, Any]]:
    """`status` rows of a Connect server: its in-cluster URL, whether it needs a token, its activity."""
    info = state.app.connect
    if info is None:
        return []
    token = f"required (Secret {info.token_secret}, key {info.token_key})" if info.token_secret else "none"
    idle = idle_text(state.app, now)
    if info.idle_since:
        idle += f" (since {info.idle_since})"
    return [("connect", info.url), ("token", token), ("activity", idle)]


def register(subparsers: Any) -> None:
    """Add `connect`."""
    p = flags.command(
        subparsers,
        "connect",
        "Start a Spark Connect server (or find a running one) and forward a local port to it until Ctrl-C.",
        "Start a Spark Connect server for notebooks: install the chart with connect.enabled=true (or reuse\n"
        "the running server --name names), wait until it serves, forward a local port to its gRPC port and\n"
        "print the sc:// URL, until Ctrl-C. A server this command started is removed at Ctrl-C; --detach\n"
        "leaves it running (reach it later with --name), --stop --name removes it.",
    )
    p.add_argument("app", nargs="?", metavar="APP", help="The server's name (same as --name).")
    flags.add_values_flags(p)
    flags.add_cluster_flags(p)
    flags.add_engine_flag(p)
    group = p.add_argument_group("connect")
    group.add_argument("--port", type=int, metavar="N",
                       help="Local port of the forward (0: any free port; default 15002, Spark Connect's own).")
    group.add_argument("--detach", action="store_true",
                       help="Wait until the server serves, print how to reach it and leave it running (no forward).")
    group.add_argument("--stop", action="store_true", help="Remove the server --name names (release and objects).")
    group.add_argument("--timeout", metavar="D", help="How long to wait for the server to serve (default 10m).")
    p.set_defaults(handler=connect)
