"""`sparkhelm list` and `gc` over a fleet of apps in one namespace of the emulated API server.

Part of `python -m benchmarks`; on its own: python -m benchmarks.bench_cluster [--apps 1000].
Each command is timed in-process through the public API, and `list` also as a new process; the
number of API requests each made is recorded (it must not grow with the fleet).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.report import Result, median

ROOT = Path(__file__).resolve().parent.parent


def _measure(name: str, cluster: Any, fn: Callable[[], Any], repeat: int, budget: float | None) -> Result:
    times, calls = [], 0
    for _ in range(repeat):
        before = len(cluster.requests())
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        calls = len(cluster.requests()) - before
    return Result(name, median(times), "s", budget, f"median of {repeat}; {calls} API requests")


def measure(apps: int, finished: int, repeat: int) -> list[Result]:
    """Seed the fleet, then time list, gc --dry-run, `sparkhelm list` as a process, and a real gc."""
    sys.path.insert(0, str(ROOT))
    from sparkhelm import api
    from tests.harness import RunningCluster
    from tests.harness.fleet import seed_fleet

    saved = os.environ.get("KUBECONFIG")
    cluster = RunningCluster(Path(tempfile.mkdtemp()))
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    try:
        cluster.kubelet.default.outcome = "Running"
        api.submit(api.Inputs(values_files=[ROOT / "values" / "pyspark-pi.yaml"], name="source"), engine="embedded")
        seed_fleet(cluster, "source", apps - 1, old_finished=finished)
        command = [str(Path(sys.executable).parent / "sparkhelm"), "list", "-o", "json"]
        env = {**os.environ, "SPARKHELM_ENGINE": "embedded"}
        return [
            _measure(f"list over {apps} apps (api.list_apps)", cluster, api.list_apps, repeat, 2.0),
            _measure(f"gc --dry-run over {apps} apps (api.gc)", cluster,
                     lambda: api.gc(7200, dry_run=True), repeat, 2.0),
            _measure(f"`sparkhelm list -o json` over {apps} apps (new process)", cluster,
                     lambda: subprocess.run(command, check=True, capture_output=True, env=env), repeat, None),
            _measure(f"gc deleting {finished} of {apps} apps (api.gc)", cluster,
                     lambda: api.gc(7200, engine="embedded"), 1, None),
        ]
    finally:
        cluster.close()
        if saved is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = saved


def main() -> None:
    """Print the cluster figures alone."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--finished", type=int, default=40, help="apps that ended 3h ago (what gc removes)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for result in measure(args.apps, args.finished, args.repeat):
        print(f"{result.name:<55} {result.value:7.3f} {result.unit}  {result.detail}")


if __name__ == "__main__":
    main()
