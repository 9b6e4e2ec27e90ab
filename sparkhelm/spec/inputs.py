"""What a user gives to describe one application: values files, `--set`s, a name, a chart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple


class Inputs(NamedTuple):
    """Everything a user gives to describe one application (the render flags of every command)."""

    values_files: Sequence[str | Path] = ()
    sets: Sequence[str] = ()
    set_strings: Sequence[str] = ()
    name: str | None = None
    chart: str | Path | None = None
