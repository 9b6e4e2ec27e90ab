"""Refuse credentials in values that end up in clear text: the ConfigMap, a pod spec, the Helm release.

The chart makes the same check in its templates (for raw `helm install`), from the same
files/credentials.yaml; doing it here too gives the CLI's one-line exit-2 error before any render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sparkhelm.errors import UserError

FIX = (
    "put it in a Kubernetes Secret and use secrets.env (an environment variable; Hadoop keys can then "
    "say ${env.NAME}) or secrets.files"
)
_STORED = "which would be stored in clear in a ConfigMap or pod spec and in the Helm release"
_ENV_LINE = re.compile(r"^\s*(export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class _Candidate:
    where: str
    name: str
    value: str


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _candidates(values: dict[str, Any]) -> Iterator[_Candidate]:
    """Every (location, name, value) that the chart writes in clear, in the chart's order."""
    for key, value in sorted((values.get("sparkConf") or {}).items()):  # the chart ranges in key order
        yield _Candidate(f"sparkConf.{key}", str(key), _text(value))
    for number, line in enumerate(str(values.get("sparkEnv") or "").split("\n"), start=1):
        match = _ENV_LINE.match(line)
        if match:
            value = match.group(3).strip().strip("\"'")
            yield _Candidate(f"sparkEnv line {number} ({match.group(2)})", match.group(2), value)
        else:
            yield _Candidate(f"sparkEnv line {number}", "", line)
    for role in ("driver", "executor"):
        for index, entry in enumerate((values.get(role) or {}).get("env") or []):
            if isinstance(entry, dict) and "value" in entry:
                name = str(entry.get("name"))
                yield _Candidate(f"{role}.env[{index}] ({name})", name, _text(entry["value"]))
    for index, argument in enumerate((values.get("app") or {}).get("arguments") or []):
        yield _Candidate(f"app.arguments[{index}]", "", _text(argument))


def _words(name: str) -> str:
    """The key as the patterns see it: lower case, camelCase split (keyStorePassword -> key.store.password)."""
    return re.sub(r"([a-z0-9])([A-Z])", r"\1.\2", name).lower()


def refuse(values: dict[str, Any], patterns: dict[str, Any]) -> None:
    """Raise a UserError naming the first value that looks like a credential."""
    key = re.compile(patterns["key"])
    allowed_key = re.compile(patterns["allowedKey"])
    allowed_value = re.compile(patterns["allowedValue"])
    value_patterns = [(what, re.compile(regex)) for what, regex in sorted(patterns["values"].items())]
    for candidate in _candidates(values):
        words = _words(candidate.name)
        if key.search(words) and not allowed_key.search(words) and not allowed_value.search(candidate.value):
            raise UserError(f"{candidate.where} looks like a credential, {_STORED}: {FIX}")
        for what, regex in value_patterns:
            if regex.search(candidate.value):
                raise UserError(f"{candidate.where} holds what looks like {what}, {_STORED}: {FIX}")
