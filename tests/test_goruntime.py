"""The embedded SDK loads with GOGC=400 (Go reads it once, at load), unless the user set GOGC; nothing leaks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import os, sys
seen = []
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "helm_python":
            seen.append(os.environ.get("GOGC"))
        return None
sys.meta_path.insert(0, Spy())
from sparkhelm.engine.embedded import _sdk
_sdk()
print(seen[0], os.environ.get("GOGC"))
"""


@pytest.mark.parametrize(("given", "at_load", "after"), [(None, "400", "None"), ("50", "50", "50"), ("off", "off", "off")])
def test_gogc_while_the_sdk_loads(given: str | None, at_load: str, after: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GOGC"}
    if given is not None:
        env["GOGC"] = given
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == [at_load, after]


def test_the_console_script_loads_it_the_same_way(tmp_path) -> None:
    """The early load of `sparkhelm template` (sparkhelm.cli._preload) goes through the same function."""
    probe = PROBE.replace("from sparkhelm.engine.embedded import _sdk\n_sdk()", "from sparkhelm import cli\ncli._preload(\"embedded\")")
    env = {k: v for k, v in os.environ.items() if k != "GOGC"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["400", "None"]


def test_two_threads_loading_at_once_both_get_the_whole_module() -> None:
    """The CLI loads it on a thread while the CLI's import reaches the engine: neither may see half a module."""
    code = (
        "import threading, time\n"
        "from sparkhelm.engine.goruntime import import_helm_sdk\n"
        "seen = []\n"
        "thread = threading.Thread(target=lambda: seen.append(import_helm_sdk().Chart))\n"
        "thread.start()\n"
        "time.sleep(0.015)  # into the thread's import: its module is in sys.modules, not yet run\n"
        "seen.append(import_helm_sdk().Chart)\n"
        "thread.join()\n"
        "print(len(seen))\n"
    )
    for _ in range(4):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr[-500:]
