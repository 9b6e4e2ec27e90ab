"""`sparkhelm template` without Typer: the same flags, output and errors, without Typer's import.

Importing Typer and its click takes about 40 ms, half of a whole bare Helm render process on the
benchmark machine (benchmarks/RESULTS.md), and `template` is what pipelines call in loops. So the
console script parses `template`'s flags here, from the declarations Typer's command is built
from (flags.py). Only a command line this parser understands completely takes this path: help,
an unknown flag, a flag without its value, anything unusual goes to Typer, which explains it.
tests/test_fastpath.py runs a corpus through both paths and compares exit codes, stdout and stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from sparkhelm import flags
from sparkhelm.errors import PREFIX, SparkhelmError, one_line


def parse(args: Sequence[str], params: dict[str, tuple[flags.Flag, object]]) -> dict[str, Any] | None:
    """The parameters from `args` as click would parse them, or None when Typer should handle them."""
    by_name = {name: key for key, (flag, _) in params.items() for name in flag.names}
    found: dict[str, Any] = {key: default for key, (_, default) in params.items()}
    given: set[str] = set()
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--") and "=" in arg:  # --name=value
            name, value = arg.split("=", 1)
            index += 1
        elif arg in by_name:  # --name value, -f value
            if index + 1 >= len(args) or (args[index + 1].startswith("-") and args[index + 1] != "-"):
                return None
            name, value = arg, args[index + 1]
            index += 2
        elif not arg.startswith("--") and arg[:2] in by_name and len(arg) > 2:  # -fvalue
            name, value = arg[:2], arg[2:]
            index += 1
        else:
            return None
        if name not in by_name:
            return None
        key = by_name[name]
        if params[key][0].multiple:
            found[key] = [*(found[key] or []), value]
        else:
            found[key] = value
        given.add(key)
    for key, (flag, _) in params.items():
        if key in given or flag.envvar is None or flag.envvar not in os.environ:
            continue
        if not os.environ[flag.envvar]:
            return None  # click's reading of an empty variable is Typer's to apply
        found[key] = os.environ[flag.envvar]
    return found


def print_template(
    values: list[str] | None,
    sets: list[str] | None,
    set_strings: list[str] | None,
    name: str | None,
    namespace: str,
    engine: str,
    chart: str | None,
) -> None:
    """The body of `sparkhelm template`, for both paths: render and print the manifests."""
    from sparkhelm import api

    _, rendered = api.render(flags.inputs(values, sets, set_strings, name, chart), namespace=namespace, engine=engine)
    sys.stdout.write(rendered.manifest)


def template(args: Sequence[str]) -> int | None:
    """Run `sparkhelm template ARGS` and return its exit code, or None to leave the command line to Typer."""
    parsed = parse(args, flags.TEMPLATE)
    if parsed is None:
        return None
    try:
        print_template(**parsed)
    except (Exception, KeyboardInterrupt) as exc:
        if not isinstance(exc, SparkhelmError | KeyboardInterrupt) and os.environ.get("SPARKHELM_DEBUG"):
            raise
        message, code = one_line(exc)
        sys.stdout.flush()
        sys.stderr.write(f"{PREFIX}{message}\n")
        return code
    return 0
