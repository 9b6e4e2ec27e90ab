"""The README's examples run as shown: every ```console block is executed and its output compared.

A block holds commands (`$ ...`) and, under each, the output a user sees. The commands run in a
shell from the repository root, in order, against the emulated API server with the simulated
kubelet (a driver that prints `Pi is roughly 3.14159`), with the README's own install (the console
script on PATH). An output line `…` stands for any number of lines; `…` inside a line for any text
(ages, generated suffixes). Everything else must match exactly, so the README cannot drift from
what the program prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.harness import RunningCluster

README = ROOT / "README.md"
ANY = "…"


def blocks(text: str) -> list[tuple[int, list[tuple[str, list[str]]]]]:
    """(line number, [(command, expected output lines)]) of every ```console block."""
    found = []
    for match in re.finditer(r"^```console\n(.*?)^```$", text, re.M | re.S):
        line = text[: match.start()].count("\n") + 1
        steps: list[tuple[str, list[str]]] = []
        for row in match.group(1).splitlines():
            if row.startswith("$ "):
                steps.append((row[2:], []))
            elif steps:
                steps[-1][1].append(row)
        found.append((line, steps))
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` fits `expected`, where `…` is any lines (alone) or any text (within a line)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == ANY:
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    pattern = "^" + ".*".join(re.escape(part) for part in head.split(ANY)) + "$"
    return bool(actual) and re.match(pattern, actual[0]) is not None and matches(rest, actual[1:])


BLOCKS = blocks(README.read_text())


def test_the_readme_shows_outputs() -> None:
    assert len(BLOCKS) >= 8 and sum(len(steps) for _, steps in BLOCKS) >= 15


@pytest.mark.parametrize(("line", "steps"), BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_a_readme_example_prints_what_the_readme_shows(line: int, steps: list[tuple[str, list[str]]],
                                                       tmp_path: Path) -> None:
    (tmp_path / "cluster").mkdir()
    cluster = RunningCluster(tmp_path / "cluster", namespaces=("default", "spark-jobs"))
    try:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SPARKHELM_", "HELM_"))}
        env.update(KUBECONFIG=str(cluster.kubeconfig), SPARKHELM_ENGINE="embedded", NO_COLOR="1", COLUMNS="100",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp_path))
        env.pop("KUBERNETES_SERVICE_HOST", None)
        for command, expected in steps:
            done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=120)
            actual = done.stdout.splitlines()  # a command that shows stderr says 2>&1
            assert matches(expected, actual), (
                f"README.md:{line}: `{command}` printed:\n" + "\n".join(actual) + f"\n(stderr: {done.stderr[-500:]})"
            )
    finally:
        cluster.close()


def test_the_matcher() -> None:
    assert matches(["a", ANY, "z"], ["a", "b", "c", "z"]) and matches(["a…z"], ["abcz"])
    assert not matches(["a", "z"], ["a", "b", "z"]) and not matches(["a…z"], ["abc"])
