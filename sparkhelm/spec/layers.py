"""Helm's semantics for values: `-f` files in order, then `--set`, then `--set-string`, over the defaults.

Later files win; maps merge, lists and scalars are replaced; a null removes a default. Values files
are parsed once per process while unchanged (a fleet rendered with `render_many` shares files).
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from stat import S_ISREG
from typing import Any

import yaml

from sparkhelm.chart.files import SAFE_LOADER
from sparkhelm.errors import UserError
from sparkhelm.spec.setparser import parse_set

Values = dict[str, Any]

#: Nodes a values file may expand to. YAML aliases can make a few lines expand exponentially
#: ("billion laughs"); Helm's YAML parser refuses such documents too.
MAX_NODES = 1_000_000


def _too_large(data: Any) -> bool:
    """Whether `data`, with every alias expanded, has more than MAX_NODES nodes (stops counting there)."""
    count = 0
    stack = [data]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_NODES:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _read_text(path: str | Path) -> str:
    if str(path) == "-":  # Helm's convention: values from standard input
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


#: Parsed values files, by (path, size, mtime, inode). Bounded; never stdin.
_PARSED: dict[tuple[str, int, int, int], Values] = {}
_PARSED_LIMIT = 256


def _file_key(path: str | Path) -> tuple[str, int, int, int] | None:
    if str(path) == "-":
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None  # the read below reports it
    if not S_ISREG(stat.st_mode):
        return None
    return os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino


def load_values_file(path: str | Path) -> Values:
    """One `-f` file (`-` is standard input) as a mapping; an empty file is an empty mapping.

    The mapping may be shared with other calls for the same unchanged file: read it, never change
    it (`merge` copies what it takes).
    """
    key = _file_key(path)
    if key is not None and key in _PARSED:
        return _PARSED[key]
    data = _parse_values_file(path)
    if key is not None:
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        _PARSED[key] = data
    return data


def _parse_values_file(path: str | Path) -> Values:
    try:
        text = _read_text(path)
    except FileNotFoundError:
        raise UserError(f"-f {path}: file not found; check the path") from None
    except IsADirectoryError:
        raise UserError(f"-f {path}: is a directory, not a values file") from None
    except PermissionError:
        raise UserError(f"-f {path}: permission denied; make the file readable") from None
    except UnicodeDecodeError:
        raise UserError(f"-f {path}: not UTF-8 text; save the values file as UTF-8") from None
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader, libyaml's when available
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"-f {path}: YAML syntax error{where}: {problem}") from None
    if data is None:
        return {}
    if _too_large(data):
        raise UserError(f"-f {path}: expands to more than {MAX_NODES:,} values (YAML aliases?); simplify the file")
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise UserError(f"-f {path}: the top level must be a mapping of keys to values, not a {kind}")
    return data


def merge(base: Values, override: Values) -> Values:
    """Helm's merge of values files: maps merged recursively, anything else (lists too) replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def coalesce(defaults: Values, user: Values) -> Values:
    """What the chart sees: user values over the chart defaults, a null removing a default.

    The result shares unchanged subtrees with both inputs (no deep copies, which cost more than the
    rest of computing an app's values): treat it as read-only.
    """
    result = dict(defaults)
    for key, value in user.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = coalesce(result[key], value)
        else:
            result[key] = value
    return result


def user_values(
    values_files: Sequence[str | Path] = (), sets: Sequence[str] = (), set_strings: Sequence[str] = ()
) -> Values:
    """Merge `-f` files in order, then `--set`, then `--set-string` (Helm's precedence)."""
    merged: Values = {}
    for path in values_files:
        merged = merge(merged, load_values_file(path))
    for expression in sets:
        parse_set(expression, merged)
    for expression in set_strings:
        parse_set(expression, merged, as_string=True, flag="--set-string")
    return merged


def get(values: Values, *path: str) -> Any:
    """The value at `path`, or None when a step is missing or not a mapping."""
    node: Any = values
    for step in path:
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def to_yaml(values: Values) -> str:
    """Values as a YAML document a Helm user can pass with -f."""
    return yaml.safe_dump(values, sort_keys=False, default_flow_style=False, allow_unicode=True)
