"""From values files and flags to the chart values of one application.

Steps, in order: load `-f` files (later wins, maps merged, lists replaced, as Helm does), apply
`--set`/`--set-string`, choose the app-name, compute the derived values (nameOverride, the
Ingress path that is also `spark.ui.proxyBase`, full node affinities), then check everything
against the chart's values.schema.json, its wiring keys and its credential patterns. Every problem is a UserError that
names the file, flag or key. Nothing here imports the Helm engine or the Kubernetes client.
"""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from stat import S_ISREG
from typing import Any

import yaml

from sparkhelm import chartfiles, naming
from sparkhelm.errors import UserError
from sparkhelm.setparser import parse_set

Values = dict[str, Any]


@dataclass(frozen=True)
class AppValues:
    """The computed values of one application: what `sparkhelm values` prints and the engine renders."""

    app_name: str
    values: Values


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


#: Parsed values files, by (path, size, mtime, inode): a batch of apps that share files parses each
#: file once (YAML parsing was the largest Python cost of `render_many`). Bounded; never stdin.
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
        data = yaml.load(text, Loader=chartfiles.SAFE_LOADER)  # noqa: S506 - a safe loader, libyaml's when available
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


def _get(values: Values, *path: str) -> Any:
    node: Any = values
    for step in path:
        if not isinstance(node, dict):
            return None
        node = node.get(step)
    return node


def _ensure(values: Values, *path: str) -> Values:
    node = values
    for step in path:
        if not isinstance(node.get(step), dict):
            node[step] = {}
        node = node[step]
    return node


def choose_app_name(effective: Values, name: str | None) -> str:
    """`--name` as given, else the values' nameOverride as given, else a unique generated name."""
    if name is not None:
        return naming.validate_app_name(name, source="--name")
    override = effective.get("nameOverride")
    if override:
        return naming.validate_app_name(str(override), source="nameOverride")
    base = naming.default_base(
        str(_get(effective, "app", "name") or ""),
        str(_get(effective, "app", "mainApplicationFile") or ""),
        str(_get(effective, "app", "mainClass") or ""),
    )
    return naming.generate_app_name(base, str(effective.get("priorityClassName") or ""))


def _node_affinity(role: str, effective: Values) -> Values | None:
    """The full affinity of `role` with its nodeAffinity shorthand folded in, or None when there is none."""
    shorthand = _get(effective, role, "nodeAffinity") or {}
    accepted = shorthand.get("values") if isinstance(shorthand, dict) else None
    if not accepted:
        return None
    affinity = copy.deepcopy(_get(effective, role, "affinity") or {})
    if not isinstance(affinity, dict):
        return None  # the schema check reports it
    if "nodeAffinity" in affinity:
        raise UserError(
            f"{role}.nodeAffinity.values and {role}.affinity.nodeAffinity are both set: keep one of them"
        )
    expression = {"key": shorthand.get("key") or "type", "operator": "In", "values": list(accepted)}
    affinity["nodeAffinity"] = {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}
    }
    return affinity


def derive(user: Values, effective: Values, app_name: str) -> Values:
    """The user's values plus what sparkhelm computes, each a plain chart value a raw Helm user could set."""
    computed = {"nameOverride": app_name, **copy.deepcopy({k: v for k, v in user.items() if k != "nameOverride"})}
    ingress = _get(effective, "ui", "ingress") or {}
    if isinstance(ingress, dict) and ingress.get("enabled") and ingress.get("mode", "path") == "path":
        _ensure(computed, "ui", "ingress")["path"] = ingress.get("path") or f"/{app_name}"
    for role in ("driver", "executor"):
        affinity = _node_affinity(role, effective)
        if affinity is not None:
            section = _ensure(computed, role)
            section["affinity"] = affinity
            _ensure(section, "nodeAffinity")["values"] = []
    return computed


def _dotted(path: Iterable[Any]) -> str:
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
    return "".join(parts) or "(top level)"


@cache
def _fast_validator(chart_dir: Path) -> Any:
    """jsonschema-rs: compiled once, about 0.02 ms a check (the Python jsonschema takes 2 ms)."""
    import jsonschema_rs  # deferred: only commands that compute values pay for it

    return jsonschema_rs.Draft7Validator(chartfiles.values_schema(chart_dir))


@cache
def _validator(chart_dir: Path) -> Any:
    """The Python jsonschema validator: only for invalid values, for its detailed, path-aware errors."""
    import jsonschema

    return jsonschema.Draft7Validator(chartfiles.values_schema(chart_dir))


def _describe(error: Any) -> str:
    """One line naming the value and the fix; the hints are the schema's `errorMessage`s."""
    path = list(error.absolute_path)
    where = _dotted(path)
    hint = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(known)) if isinstance(error.instance, dict) else []
        key = _dotted([*path, unexpected[0]]) if unexpected else where
        return f"unknown key {key}: remove it or fix the spelling (known keys here: {', '.join(known)})"
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        key = _dotted([*path, missing])
        return f"{key} is required: set it in a values file or with --set {key}=..."
    if error.validator == "enum":
        choices = ", ".join(str(choice) for choice in error.validator_value)
        return f"{where} is {error.instance!r}: it must be one of {choices}"
    if error.validator == "type":
        wanted = error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        return f"{where} is {error.instance!r} ({type(error.instance).__name__}): it must be of type {wanted}"
    if "propertyNames" in error.schema_path:
        return f"{where} has an invalid key {error.instance!r}: {hint or error.message}"
    if error.validator == "minLength" and error.instance == "" and hint:
        return f"{where} is empty: {hint}"
    if error.validator == "anyOf" and hint:
        return f"{where}: {hint}"
    if hint:
        return f"{where} is {error.instance!r}: expected {hint}"
    return f"{where}: {error.message}"


def _is_missing(error: Any) -> bool:
    return bool(error.validator == "required" or (error.validator == "minLength" and error.instance == ""))


def validate(chart_dir: Path, effective: Values) -> None:
    """Check the values the chart will see against its schema and its wiring keys; the first problem is raised.

    jsonschema-rs answers "valid?"; only a "no" loads the Python jsonschema, whose errors name the value.
    """
    if not _fast_validator(chart_dir).is_valid(effective):
        # The user's own wrong values first, then what is missing.
        errors = sorted(
            _validator(chart_dir).iter_errors(effective),
            key=lambda e: (_is_missing(e), list(map(str, e.absolute_path)), str(e.validator)),
        )
        if errors:
            raise UserError(f"invalid values: {_describe(errors[0])}")
        try:  # the two validators disagree: report what jsonschema-rs found
            _fast_validator(chart_dir).validate(effective)
        except Exception as exc:  # noqa: BLE001 - jsonschema_rs.ValidationError, any version
            raise UserError(f"invalid values: {' '.join(str(exc).split())}") from None
    wiring = chartfiles.wiring_keys(chart_dir)
    for key, value in (effective.get("sparkConf") or {}).items():
        if key in wiring:
            raise UserError(
                f"sparkConf.{key} ({value!r}) is set by the chart (client-mode wiring): "
                f"remove it and set {wiring[key]} instead"
            )
    from sparkhelm import credentials  # deferred: `template` leaves this check to the chart

    credentials.refuse(effective, chartfiles.credential_patterns(chart_dir))


def check_computed(chart_dir: Path, computed: Values) -> None:
    """Check an app's computed values as the chart sees them (over its defaults); the first problem is raised.

    The chart checks everything this checks (same schema, same wiring and credential files), so a
    caller that renders right away may skip this and call it only to explain a refusal.
    """
    validate(chart_dir, coalesce(chartfiles.shared_default_values(chart_dir), computed))


def compute(
    chart_dir: Path,
    values_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    set_strings: Sequence[str] = (),
    name: str | None = None,
    *,
    check: bool = True,
) -> AppValues:
    """All the steps: the values of one application, with its app-name, valid.

    `check=False` leaves the checks to the chart, for a caller that renders right away and calls
    `check_computed` if the render fails.
    """
    user = user_values(values_files, sets, set_strings)
    defaults = chartfiles.shared_default_values(chart_dir)  # read-only: coalesce copies nothing
    effective = coalesce(defaults, user)
    app_name = choose_app_name(effective, name)
    computed = derive(user, effective, app_name)
    if check:
        check_computed(chart_dir, computed)
    return AppValues(app_name=app_name, values=computed)


def to_yaml(values: Values) -> str:
    """Values as a YAML document a Helm user can pass with -f."""
    return yaml.safe_dump(values, sort_keys=False, default_flow_style=False, allow_unicode=True)
