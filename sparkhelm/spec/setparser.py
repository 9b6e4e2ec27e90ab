r"""Helm's `--set` syntax, so that `sparkhelm --set` means what `helm --set` means.

Hand-written because no maintained Python library implements Helm's strvals grammar:
`a.b=c,d=e` (several assignments), `a\.b=c` (escaped dot in a key), `list={x,y}`,
`list[0]=x`, and Helm's typing of `--set` values (true/false/null, integers without a leading
zero; everything else, floats included, stays a string). `--set-string` keeps every value a string.
"""

from __future__ import annotations

import re
from typing import Any

from sparkhelm.errors import UserError

_INDEX = re.compile(r"^(.*?)\[(\d+)\]$")
MAX_INDEX = 65536


def _split_unescaped(text: str, separator: str, *, respect_braces: bool = False) -> list[str]:
    """Split on `separator` not preceded by a backslash (and, optionally, not inside {...})."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if respect_braces and char == "{":
            depth += 1
        elif respect_braces and char == "}" and depth:
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def typed_value(raw: str, *, as_string: bool = False) -> Any:
    r"""Helm's typing of one `--set` value."""
    value = _unescape(raw)
    if as_string:
        return value
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if lowered == "null":
        return None
    if value == "0":
        return 0
    if value and value[0] != "0" and re.fullmatch(r"[-+]?\d+", value):
        number = int(value)
        if -(2**63) <= number < 2**63:
            return number
    return value


def _parse_key(key: str, flag: str, assignment: str) -> list[str | int]:
    path: list[str | int] = []
    for segment in _split_unescaped(key, "."):
        indexes: list[int] = []
        match = _INDEX.match(segment)
        while match:
            indexes.insert(0, int(match.group(2)))
            segment = match.group(1)
            match = _INDEX.match(segment)
        name = _unescape(segment)
        if not name:
            raise UserError(f"{flag} {assignment!r}: empty key segment in {key!r}; write KEY.SUB=VALUE")
        if name:
            path.append(name)
        for index in indexes:
            if index > MAX_INDEX:
                raise UserError(f"{flag} {assignment!r}: list index {index} is too large (max {MAX_INDEX})")
            path.append(index)
    return path


def _assign(target: dict[str, Any], path: list[str | int], value: Any, flag: str, assignment: str) -> None:
    node: Any = target
    for position, step in enumerate(path):
        last = position == len(path) - 1
        following = None if last else path[position + 1]
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(step, int):
            if not isinstance(node, list):
                raise UserError(f"{flag} {assignment!r}: {step} indexes something that is not a list")
            while len(node) <= step:
                node.append(None)
            if last:
                node[step] = value
            elif not isinstance(node[step], (dict, list)):
                node[step] = empty
            node = node[step]
        else:
            if not isinstance(node, dict):
                raise UserError(f"{flag} {assignment!r}: key {step!r} is inside something that is not a mapping")
            if last:
                node[step] = value
            else:
                if not isinstance(node.get(step), (dict, list)) or (
                    isinstance(following, int) != isinstance(node.get(step), list)
                ):
                    node[step] = empty
                node = node[step]


def parse_set(expression: str, target: dict[str, Any], *, as_string: bool = False, flag: str = "--set") -> None:
    """Apply one `--set` expression (possibly several comma-separated assignments) to `target`."""
    for assignment in _split_unescaped(expression, ",", respect_braces=True):
        if not assignment:
            continue
        key_and_value = _split_unescaped(assignment, "=")
        if len(key_and_value) < 2 or not key_and_value[0]:
            raise UserError(f"{flag} {assignment!r}: expected KEY=VALUE, e.g. {flag} executor.instances=4")
        key = key_and_value[0]
        raw = "=".join(key_and_value[1:])
        path = _parse_key(key, flag, assignment)
        value: Any
        if raw.startswith("{") and raw.endswith("}"):
            inner = raw[1:-1]
            items = _split_unescaped(inner, ",") if inner else []
            value = [typed_value(item, as_string=as_string) for item in items]
        else:
            value = typed_value(raw, as_string=as_string)
        _assign(target, path, value, flag, assignment)
