"""Where the chart is, and the few files of it the CLI reads itself (Chart.yaml, values.yaml, the schema).

The chart stays the single source of truth: the CLI reads these files instead of copying them.
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from sparkhelm.errors import UserError
from sparkhelm.spec.naming import CHART_NAME

#: Where the wheel carries the chart (pyproject.toml force-includes it), and where a checkout has it.
_PACKAGED = Path(__file__).parent / CHART_NAME
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "charts" / CHART_NAME


def default_chart_dir() -> Path:
    """The chart shipped in the wheel, else the one in the source tree; `SPARKHELM_CHART` overrides both."""
    override = os.environ.get("SPARKHELM_CHART")
    if override:
        return Path(override)
    return _PACKAGED if (_PACKAGED / "Chart.yaml").is_file() else _SOURCE_TREE


def resolve_chart_dir(chart: str | Path | None) -> Path:
    """The chart directory to use, checked to be one."""
    path = Path(chart) if chart else default_chart_dir()
    if not (path / "Chart.yaml").is_file():
        raise UserError(f"--chart: {path} is not a chart directory (no Chart.yaml): point it at charts/{CHART_NAME}")
    return path.resolve()


#: PyYAML's safe loader in C (libyaml) when the wheel has it: about ten times faster than the pure-Python one.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


@cache
def chart_metadata(chart_dir: Path) -> dict[str, Any]:
    """Chart.yaml as a dict."""
    data: dict[str, Any] = _read_yaml(chart_dir / "Chart.yaml")
    return data


@cache
def _default_values(chart_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = _read_yaml(chart_dir / "values.yaml") or {}
    return data


def default_values(chart_dir: Path) -> dict[str, Any]:
    """The chart's values.yaml (a fresh copy: callers may modify it)."""
    return copy.deepcopy(_default_values(chart_dir))


def shared_default_values(chart_dir: Path) -> dict[str, Any]:
    """The chart's values.yaml, loaded once and shared: callers must not modify it."""
    return _default_values(chart_dir)


@cache
def values_schema(chart_dir: Path) -> dict[str, Any]:
    """The chart's values.schema.json."""
    with (chart_dir / "values.schema.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data
