"""1000 apps in one namespace: `list` and `gc` make a constant number of API calls, and nothing is cut at 256.

Timing is measured by benchmarks/bench_cluster.py, not asserted here.
"""

from __future__ import annotations

import json

from tests.conftest import VALUES_DIR, Cli
from tests.harness import RunningCluster
from tests.harness.fleet import seed_fleet

APPS = 1000


def test_list_and_gc_of_1000_apps(cluster: RunningCluster, cli: Cli) -> None:
    cluster.kubelet.default.outcome = "Running"
    assert cli("run", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", "source").exit_code == 0
    seed_fleet(cluster, "source", APPS - 1, old_finished=40)

    before = len(cluster.requests())
    listed = json.loads(cli("list", "-o", "json").stdout)
    assert len(listed) == APPS
    assert len(cluster.requests()) - before == 3  # driver pods, ConfigMaps (orphans), CronJobs (schedules)

    before = len(cluster.requests())
    dry = cli("gc", "--older-than", "2h", "--dry-run")
    assert len(dry.stdout.splitlines()) == 40
    assert len(cluster.requests()) - before == 3

    before = len(cluster.requests())
    real = cli("gc", "--older-than", "2h")
    assert real.exit_code == 0, real.stderr
    gc_requests = cluster.requests()[before:]
    lists = [p for m, p in gc_requests if m == "GET" and p.startswith("/api/v1/namespaces/default/pods?")]
    assert len(lists) == 3  # to choose, to sweep by label, to look again; the rest is per-app uninstall work
    kept = cluster.names("Secret")
    assert len([n for n in kept if n.startswith("sh.helm.release.v1.")]) == APPS - 40  # release records
    assert len([n for n in kept if n.endswith("-rpc-secret")]) == APPS - 40  # and the apps' RPC secrets
    assert cluster.get("Pod", "fleet-0000-driver") is None
    assert cluster.get("Pod", "fleet-0040-driver") is not None
