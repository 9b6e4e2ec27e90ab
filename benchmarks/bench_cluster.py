"""Benchmark: `sparkhelm list` and `gc` with 1000 apps in one namespace of the emulated API server.

Run: .venv/bin/python -m benchmarks.bench_cluster [--apps 1000] [--finished 40] [--repeat 5]
Prints the best and median wall time of each command (in-process, through the public API) and of
`sparkhelm list` as a separate process, plus the number of API requests each made.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _measure(label: str, cluster: Any, fn: Callable[[], Any], repeat: int) -> None:
    times, calls = [], 0
    for _ in range(repeat):
        before = len(cluster.requests())
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        calls = len(cluster.requests()) - before
    print(f"{label:<40} best {min(times):6.3f}s  median {statistics.median(times):6.3f}s  API requests {calls}")


def main() -> None:
    """Seed the fleet, then time list, gc --dry-run and a real gc."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--finished", type=int, default=40, help="apps that ended 3h ago (what gc removes)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from sparkhelm import api
    from tests.harness import RunningCluster
    from tests.harness.fleet import seed_fleet

    cluster = RunningCluster(Path(tempfile.mkdtemp()))
    os.environ["KUBECONFIG"] = str(cluster.kubeconfig)
    cluster.kubelet.default.outcome = "Running"
    api.submit(api.Inputs(values_files=[ROOT / "values" / "pyspark-pi.yaml"], name="source"), engine="embedded")
    seed_fleet(cluster, "source", args.apps - 1, old_finished=args.finished)
    print(f"{args.apps} apps, {args.finished} finished 3h ago; emulator at {cluster.url}")

    _measure("list (api.list_apps)", cluster, api.list_apps, args.repeat)
    _measure("gc --dry-run (api.gc)", cluster, lambda: api.gc(7200, dry_run=True), args.repeat)
    command = [str(Path(sys.executable).parent / "sparkhelm"), "list", "-o", "json"]
    env = {**os.environ, "SPARKHELM_ENGINE": "embedded"}
    _measure("sparkhelm list -o json (new process)", cluster,
             lambda: subprocess.run(command, check=True, capture_output=True, env=env), args.repeat)
    _measure(f"gc deleting {args.finished} apps (api.gc)", cluster, lambda: api.gc(7200, engine="embedded"), 1)
    cluster.close()


if __name__ == "__main__":
    main()
