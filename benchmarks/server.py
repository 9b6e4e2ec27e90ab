"""The emulated API server of the cluster rows, in its own process (as a real API server would be).

Run from the repository root, where `tests` is a package:

    python -m benchmarks.server DIR [--kubelet Running]

It starts `tests.harness.RunningCluster`, writes DIR/kubeconfig, prints one JSON line
(`{"kubeconfig": ..., "url": ..., "pid": ...}`), then answers one JSON line per command read
from stdin, so that the benchmark (another process) can read the request log and the server's own
CPU time without sharing an interpreter with it:

    requests FROM                   (method, path?query) of every request since index FROM
    accepts FROM                    (method, path?query, Accept header) of the same
    count                           how many requests were served so far
    usage                           this process's CPU seconds (user, system) and peak RSS (KiB)
    kubelet OUTCOME                 what the simulated kubelet does with new driver pods
    fleet SOURCE START COUNT FINISHED NS
                                    copies fleet-START .. of installed app SOURCE (tests/harness/fleet.py);
                                    those numbered below FINISHED ended 3 hours ago, the others run
    get KIND NAME NS                one live object (or null)
    quit
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from tests.harness import RunningCluster, fleet


def _answer(cluster: RunningCluster, words: list[str]) -> Any:
    """The reply to one command."""
    command, args = words[0], words[1:]
    if command == "count":
        return len(cluster.emulator._requests)
    if command == "requests":
        return cluster.requests()[int(args[0]):]
    if command == "accepts":
        return cluster.accepts()[int(args[0]):]
    if command == "usage":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"user": usage.ru_utime, "system": usage.ru_stime, "maxrss_kib": usage.ru_maxrss}
    if command == "kubelet":
        cluster.kubelet.default.outcome = args[0]
        cluster.kubelet.default.executors = 0
        return args[0]
    if command == "fleet":
        source, start, count, finished, namespace = args[0], *map(int, args[1:4]), args[4]
        # fleet.seed_fleet numbers from 0 only; the benchmark grows a fleet in steps, so it clones here
        read = fleet._source(cluster, source, namespace)
        for index in range(start, start + count):
            old = index < finished
            fleet.clone_app(cluster, read, f"fleet-{index:05d}", namespace, phase="Succeeded" if old else "Running",
                            ended_hours_ago=3 if old else 0, name=source)
        return count
    if command == "get":
        kind, name, namespace = args
        return cluster.get(kind, name, namespace)
    raise ValueError(f"unknown command {command!r}")


def main() -> None:
    """Start the server, announce it, serve commands until `quit` or the end of stdin."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path, help="where the kubeconfig is written")
    parser.add_argument("--kubelet", default="Running",
                        help="the simulated kubelet's default outcome for new driver pods (default: Running)")
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    cluster = RunningCluster(args.directory, namespaces=("default", "spark", "bench"))
    cluster.install_volcano()  # values/prod.yaml gang-schedules with Volcano (a PodGroup per app)
    # what values/prod.yaml names and sparkhelm's pre-flight checks: its priority tiers and the ingress class
    cluster.seed_many([
        *({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": tier}, "value": value}
          for value, tier in enumerate(("routine", "urgent", "exceptional", "rush"), start=1000)),
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "nginx"},
         "spec": {"controller": "k8s.io/ingress-nginx"}},
    ])
    _answer(cluster, ["kubelet", args.kubelet])
    print(json.dumps({"kubeconfig": str(cluster.kubeconfig), "url": cluster.url, "pid": os.getpid()}),
          flush=True)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            try:
                reply = {"ok": _answer(cluster, words)}
            except Exception as exc:  # noqa: BLE001 - reported to the benchmark, which raises it there
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
