"""The `sparkhelm` command: parse flags, call `sparkhelm.ops`, print, exit 0/1/2.

Errors are one line on stderr (`sparkhelm: error: ...`), never a traceback: usage errors and bad
values exit 2, runtime failures exit 1, Ctrl-C 130. One module per command group (render, run,
apps, about); each registers its parsers and imports what it needs only when it runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sparkhelm.errors import PREFIX, SparkhelmError, one_line

if TYPE_CHECKING:
    from sparkhelm.cli.parser import Parser

#: The commands that render (the embedded engine's Go library takes 40-60 ms to load): only these
#: preload it. `delete` and `gc` uninstall without it (engine/embedded.py).
ENGINE_COMMANDS = frozenset({"template", "values", "explain", "run", "connect"})


def build_parser() -> Parser:
    """The whole command line: every command of every group."""
    from sparkhelm.cli import about, apps, connect, render, run
    from sparkhelm.cli.parser import root_parser

    parser: Parser = root_parser()
    parser.add_argument("--version", action="store_true", help="Print the version and exit.")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    render.register(subparsers)
    run.register(subparsers)
    apps.register(subparsers)
    connect.register(subparsers)
    about.register(subparsers)
    return parser


def _engine_flag(argv: Sequence[str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--engine" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--engine="):
            return arg.partition("=")[2]
    return os.environ.get("SPARKHELM_ENGINE") or "auto"


def _preload(choice: str) -> None:
    """Load the embedded SDK while Python parses and computes, unless `auto` will pick a helm binary."""
    try:
        from sparkhelm.engine.goruntime import import_helm_sdk
        from sparkhelm.engine.helmpath import helm_binary

        if choice == "auto" and helm_binary() is not None:
            return
        import_helm_sdk()
    except Exception:  # noqa: BLE001, S110 - the command itself reports a missing or broken engine
        pass


def _start_preload(argv: Sequence[str]) -> None:
    if not argv or argv[0] not in ENGINE_COMMANDS or "--help" in argv or "-h" in argv:
        return
    choice = _engine_flag(argv)
    if choice in ("auto", "embedded"):
        # Not a daemon: the interpreter waits for the load before it exits, never tears it down midway.
        threading.Thread(target=_preload, args=(choice,), name="sparkhelm-engine-load").start()


def _fail(message: str, code: int) -> int:
    sys.stdout.flush()
    sys.stderr.write(f"{PREFIX}{message}\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit code (the console script exits with it)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    _start_preload(args_list)
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asking for completions (sparkhelm completion)
        import argcomplete

        argcomplete.autocomplete(parser)
    if not args_list:
        parser.print_help()
        return 0
    args, extra = parser.parse_known_args(args_list)
    if extra:  # reported by the command's own parser, so the line names the command
        getattr(args, "command_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.version:
        from sparkhelm import __version__

        sys.stdout.write(f"sparkhelm {__version__}\n")
        return 0
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    try:
        code = handler(args)
    except (SparkhelmError, KeyboardInterrupt) as exc:
        return _fail(*one_line(exc))
    except BrokenPipeError:
        return 0  # `sparkhelm list | head`: the reader left
    except Exception as exc:  # a bug, not the user's doing: one line unless asked for the traceback
        if os.environ.get("SPARKHELM_DEBUG"):
            raise
        return _fail(*one_line(exc))
    return int(code or 0)


def console() -> None:
    """Console-script entry point: `sparkhelm ...`."""
    code = main()
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.exit(code)
