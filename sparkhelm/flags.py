"""The render flags, declared once: cli.py makes Typer options of them, fastpath.py parses them.

Plain data with no Typer in it, so that `sparkhelm template` can read its flags without
importing Typer (benchmarks/RESULTS.md); tests/test_fastpath.py checks that Typer's command and
these declarations agree, and that both paths give the same output and errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from sparkhelm.api import Inputs


class Flag(NamedTuple):
    """One option that takes a value: its names, help, and where its default comes from."""

    names: tuple[str, ...]
    help: str
    metavar: str | None = None
    multiple: bool = False
    envvar: str | None = None


VALUES = Flag(("--values", "-f"), "Values file (repeatable; later files win).", "FILE", multiple=True)
SET = Flag(("--set",), "Set a value, Helm syntax: a.b=c, list={x,y} (repeatable).", "K=V", multiple=True)
SET_STRING = Flag(("--set-string",), "Like --set, but every value stays a string.", "K=V", multiple=True)
NAME = Flag(("--name",), "Exact app name (DNS-1035, <= 47 chars). Default: unique generated name.")
NAMESPACE = Flag(("--namespace", "-n"), "Kubernetes namespace.")
ENGINE = Flag(
    ("--engine",),
    "Helm engine: auto (helm binary if on PATH, else embedded), embedded or helm.",
    envvar="SPARKHELM_ENGINE",
)
CHART = Flag(("--chart",), "Chart directory. Default: the bundled chart.", envvar="SPARKHELM_CHART")

#: `sparkhelm template`'s parameters (the function's argument names) and their defaults.
TEMPLATE: dict[str, tuple[Flag, object]] = {
    "values": (VALUES, None),
    "sets": (SET, None),
    "set_strings": (SET_STRING, None),
    "name": (NAME, None),
    "namespace": (NAMESPACE, "default"),
    "engine": (ENGINE, "auto"),
    "chart": (CHART, None),
}


def inputs(
    values: list[str] | None,
    sets: list[str] | None,
    set_strings: list[str] | None,
    name: str | None,
    chart: str | None,
) -> Inputs:
    """The render flags as `api.Inputs` (a repeatable flag not given is None, from Typer and the fast path alike)."""
    from sparkhelm.api import Inputs

    return Inputs(values_files=values or [], sets=sets or [], set_strings=set_strings or [], name=name, chart=chart)
