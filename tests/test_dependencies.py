"""Every third-party module sparkhelm imports, even lazily, is a declared dependency of the package.

A module imported only on some paths (the spinner's rich on a terminal, croniter for schedules) is
still needed by users: installed here by something else (a test tool, an old dependency), it would
pass every test and fail on a user's machine.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.conftest import ROOT


def _imported_top_levels() -> dict[str, str]:
    """Top-level module names imported anywhere in sparkhelm/, each with one place that imports it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "sparkhelm").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                     else [])
            for name in names:
                found.setdefault(name.split(".")[0], f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower().replace("_", "-")
            for spec in project["dependencies"]}


def test_every_third_party_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    declared = _declared()
    undeclared = []
    for module, where in _imported_top_levels().items():
        if module in sys.stdlib_module_names or module in ("sparkhelm", "__future__"):
            continue
        owners = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        if not owners & declared:
            undeclared.append(f"{module} ({where}; from {sorted(owners) or 'no installed distribution'})")
    assert undeclared == [], "imported but not in [project] dependencies: " + ", ".join(undeclared)
