"""The chart's value documentation: the helm-docs `# --` comments of values.yaml, per key.

One reader for three users: the chart README's values table (scripts/chart_readme.py), the
comments of `sparkhelm init`, and the descriptions of `sparkhelm explain`. ruamel.yaml gives the
keys and their line numbers; the comment block right above a key is its documentation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOC_MARK = "# --"
DEFAULT_MARK = "# @default --"


@dataclass(frozen=True)
class ValueDoc:
    """One documented value: dotted key, type, default (as in values.yaml) and description."""

    key: str
    type: str
    default: Any
    description: str
    default_text: str  # the `@default --` text, else the default as JSON

    @property
    def default_is_literal(self) -> bool:
        """True when the default is the value in values.yaml, not an `@default --` explanation."""
        return self.default_text == json.dumps(self.default)

    @property
    def parts(self) -> list[str]:
        """The key as a path."""
        return self.key.split(".")


#: JSON Schema's names for YAML's types (bool before int: a bool is an int in Python).
_TYPE_NAMES = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"), (list, "list"), (dict, "object"))


def _type_name(value: Any) -> str:
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), "null")


def _plain(value: Any) -> Any:
    """Plain dicts and lists for ruamel's commented containers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _comment_block(lines: list[str], key_line: int) -> list[str]:
    """The comment lines directly above line `key_line` (0-based), top to bottom."""
    block: list[str] = []
    index = key_line - 1
    while index >= 0 and lines[index].strip().startswith("#"):
        block.insert(0, lines[index].strip())
        index -= 1
    return block


def _parse_doc(block: list[str]) -> tuple[str, str | None] | None:
    """(description, @default text) from a comment block, or None when it has no `# --` line."""
    starts = [i for i, line in enumerate(block) if line.startswith(DOC_MARK)]
    if not starts:
        return None
    words: list[str] = []
    default: str | None = None
    for line in block[starts[-1] :]:
        if line.startswith(DEFAULT_MARK):
            default = line[len(DEFAULT_MARK) :].strip()
        elif line.startswith(DOC_MARK):
            words.append(line[len(DOC_MARK) :].strip())
        else:
            words.append(line.lstrip("#").strip())
    return " ".join(w for w in words if w), default


def _walk(node: Any, lines: list[str], prefix: list[str]) -> Iterator[ValueDoc]:
    for key, value in node.items():
        path = [*prefix, str(key)]
        line, _ = node.lc.key(key)
        doc = _parse_doc(_comment_block(lines, line))
        if doc is None and isinstance(value, dict) and value:
            yield from _walk(value, lines, path)
            continue
        plain = _plain(value)
        description, default = doc if doc else ("", None)
        yield ValueDoc(
            key=".".join(path),
            type=_type_name(plain),
            default=plain,
            description=description,
            default_text=default if default is not None else json.dumps(plain),
        )


def read(values_yaml: Path) -> list[ValueDoc]:
    """Every value of the chart in file order: documented maps are one entry, others are walked into."""
    from ruamel.yaml import YAML

    text = values_yaml.read_text()
    tree = YAML(typ="rt").load(text)
    return list(_walk(tree, text.splitlines(), []))


def chart_docs(chart_dir: Path) -> list[ValueDoc]:
    """The documentation of the chart's values.yaml."""
    return read(chart_dir / "values.yaml")


def by_key(docs: list[ValueDoc]) -> dict[str, ValueDoc]:
    """The docs indexed by dotted key."""
    return {doc.key: doc for doc in docs}


def describe(key: str, index: dict[str, ValueDoc]) -> str:
    """The description of `key`, or of its nearest documented parent (a map documented as a whole)."""
    parts = key.split(".")
    while parts:
        doc = index.get(".".join(parts))
        if doc is not None:
            return doc.description
        parts.pop()
    return ""
