"""Submit many apps through the Python API from one process: threads sharing one `api.Cluster`.

Run by benchmarks/throughput.py as its own process, so that its CPU time is its own:

    python -m benchmarks.submitter KUBECONFIG NAMESPACE VALUES APPS CLIENTS

It submits one app first (chart load, first connection), prints `ready`, waits for a line on
stdin, then submits APPS apps from CLIENTS threads and prints one JSON line: wall and CPU
seconds of that window, submission latencies, errors, and the shared client's counters.
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.common import on_threads
from sparkhelm import api


def main() -> None:
    """Warm up, wait for the go, submit, report."""
    kubeconfig, namespace, values, apps, clients = sys.argv[1:6]
    cluster = api.Cluster(api.KubeTarget(kubeconfig=kubeconfig, namespace=namespace))
    inputs = api.Inputs(values_files=[values])
    api.submit(inputs, kube=cluster, engine="embedded")
    print("ready", flush=True)
    sys.stdin.readline()

    def submit() -> str | None:
        try:
            api.submit(inputs, kube=cluster, engine="embedded")
        except api.SparkhelmError as exc:
            return str(exc)
        return None

    sent, opened = cluster.client.requests_sent, cluster.client.connections_opened
    cpu, began = time.process_time(), time.perf_counter()
    latencies, errors = on_threads(int(apps), int(clients), submit)
    report = {
        "seconds": time.perf_counter() - began,
        "cpu": time.process_time() - cpu,
        "latencies": latencies,
        "errors": errors[:3],
        "error_count": len(errors),
        "requests_sent": cluster.client.requests_sent - sent,
        "connections_opened": cluster.client.connections_opened - opened,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
