"""`sparkhelm explain`: every value the chart will see, and where it came from.

The sources are Helm's layers in Helm's order (chart default, each `-f` file, each `--set`, each
`--set-string`), then `--name` and what sparkhelm computes. A value belongs to the last layer that
sets it, unless sparkhelm changed it afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkhelm.chart import docs
from sparkhelm.chart.files import shared_default_values, values_schema
from sparkhelm.spec.compute import AppValues
from sparkhelm.spec.layers import coalesce, load_values_file
from sparkhelm.spec.setparser import parse_set

CHART_DEFAULT = "chart default"
COMPUTED = "computed by sparkhelm"
_MISSING = object()

#: Why sparkhelm computes a value, by key: the app-name and the RPC secret are the values the CLI
#: decides itself (the chart derives the rest from values, for `helm install` users too).
REASONS = {"nameOverride": "generated app name", "security.rpc.secret": "generated RPC secret"}

#: What `explain` shows instead of a secret (a value the chart's schema marks `writeOnly`), in every
#: output format: explain is for reviewing where values come from, and its output lands in terminals,
#: CI logs and tickets. `sparkhelm values` does print secrets, since `helm install -f` needs them.
GENERATED_HIDDEN = "<generated, hidden>"
GIVEN_HIDDEN = "<hidden>"


@dataclass(frozen=True)
class Explained:
    """One effective value: dotted key, value, source, and the chart's description of the key."""

    key: str
    value: Any
    source: str
    description: str

    def to_dict(self) -> dict[str, Any]:
        """For JSON and YAML output."""
        return {"key": self.key, "value": self.value, "source": self.source, "description": self.description}


def _leaves(node: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every leaf: scalars, lists (Helm replaces them whole) and empty maps."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, node


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return _MISSING
        node = node[step]
    return node


def hidden_keys(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[str]:
    """The dotted keys of the values the schema marks `writeOnly` (secrets), following nested `properties`."""
    found: set[str] = set()
    for name, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            if sub.get("writeOnly"):
                found.add(".".join((*prefix, name)))
            found |= hidden_keys(sub, (*prefix, name))
    return found


def _label(flag: str, expression: str, target: dict[str, Any], hidden: set[str]) -> str:
    """How a flag is named as a source: as written, with the value of any secret it sets replaced.

    Found by its parsed value in the text; when Helm's escapes make the text differ from the value,
    the whole expression is withheld rather than risk printing part of the secret.
    """
    for key in hidden:
        value = _at(target, tuple(key.split(".")))
        if value is _MISSING or value in ("", None):
            continue
        text = str(value)
        if text not in expression:
            return f"{flag} (an expression that sets {key}, not shown)"
        expression = expression.replace(text, GIVEN_HIDDEN)
    return f"{flag} {expression}"


def layers(
    values_files: Sequence[str | Path], sets: Sequence[str], set_strings: Sequence[str],
    hidden: set[str] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """The user's layers, each alone, named as the user wrote them (secrets in `hidden` withheld), in Helm's order."""
    named: list[tuple[str, dict[str, Any]]] = []
    for path in values_files:
        named.append((f"file {path}", load_values_file(path)))
    for expression in sets:
        target: dict[str, Any] = {}
        parse_set(expression, target)
        named.append((_label("--set", expression, target, hidden or set()), target))
    for expression in set_strings:
        target = {}
        parse_set(expression, target, as_string=True, flag="--set-string")
        named.append((_label("--set-string", expression, target, hidden or set()), target))
    return named


def _computed(key: str) -> str:
    reason = next((why for prefix, why in REASONS.items() if key == prefix or key.startswith(prefix + ".")), "derived")
    return f"{COMPUTED} ({reason})"


def source_of(
    path: tuple[str, ...],
    value: Any,
    defaults: dict[str, Any],
    user_layers: list[tuple[str, dict[str, Any]]],
    name_flag: str | None,
) -> str:
    """Where the effective `value` at `path` came from."""
    key = ".".join(path)
    if key == "nameOverride" and name_flag is not None:
        return "--name"
    for label, layer in reversed(user_layers):
        given = _at(layer, path)
        if given is not _MISSING:
            return label if given == value else _computed(key)
    if _at(defaults, path) == value:
        return CHART_DEFAULT
    return _computed(key)


def explain(
    chart_dir: Path,
    app: AppValues,
    values_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    set_strings: Sequence[str] = (),
    name: str | None = None,
) -> list[Explained]:
    """Every effective value of one application (`app`, already computed and checked), in the chart's key order."""
    defaults = shared_default_values(chart_dir)
    effective = coalesce(defaults, app.values)
    hidden = hidden_keys(values_schema(chart_dir))
    user_layers = layers(values_files, sets, set_strings, hidden)
    index = docs.by_key(docs.chart_docs(chart_dir))
    rows = []
    for path, value in _leaves(effective):
        key = ".".join(path)
        source = source_of(path, value, defaults, user_layers, name)
        if key in hidden and value not in ("", None):
            value = GENERATED_HIDDEN if source.startswith(COMPUTED) else GIVEN_HIDDEN
        rows.append(Explained(key=key, value=value, source=source, description=docs.describe(key, index)))
    return rows


def shown(value: Any) -> str:
    """A value on one line of the table: strings as they are (empty or multi-line ones quoted), the rest as JSON."""
    if isinstance(value, str):
        return value if value and "\n" not in value else json.dumps(value)
    return json.dumps(value, separators=(",", ":"))
