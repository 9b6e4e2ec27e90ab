"""Spark itself answers the scrapes the chart configures, and carries the queue and gang metadata.

One app of the session's real-Spark suite (tests/sparkdriver.py: the test kubelet runs the chart's
driver and executor pods) with metrics.enabled and a PodMonitor, a path-mode UI Ingress (so
spark.ui.proxyBase is set, as in production), Kueue and Kubernetes' own gang scheduling and a ttl.
While the app runs, the test GETs exactly the pod port and paths the rendered PodMonitor names, as
Prometheus would from the driver pod's IP: the driver's metrics (PrometheusServlet) and the
executors' (served by the driver from their heartbeats). Then it checks that the executor pods Spark
created carry the template's Kueue labels, gang reference and ttl (Spark's fabric8 model round-trips
fields it does not know, such as spec.schedulingGroup).
"""

from __future__ import annotations

import http.client
import re
import time
from typing import Any

import pytest

from tests import sparkdriver
from tests.sparkdriver import App, AppRun, SparkCluster

pytestmark = pytest.mark.spark

#: One sample line of Prometheus' text format: name, optional labels, a number.
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{[^}]*\})? (?P<value>[-+0-9.eE]+|NaN|[+-]Inf)$")
NAME = "it-metrics"


def _get(host: str, port: int, path: str, deadline: float) -> tuple[int, str]:
    """GET until the UI is past its "starting up" page (or the deadline)."""
    while True:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            status, body = response.status, response.read().decode("utf-8", "replace")
        except OSError:
            status, body = 0, sparkdriver.STARTING_UP
        finally:
            connection.close()
        if (status == 200 and sparkdriver.STARTING_UP not in body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def scrape_then_release(cluster: SparkCluster, run: AppRun) -> None:
    """Once the executors worked, scrape what the PodMonitor names from the driver pod, read the UI, release."""
    driver = cluster.kubelet.wait_started(run.namespace, f"{run.name}-driver", 180)
    try:
        cluster.wait_for_log(driver, r"Pi is roughly", timeout=240)
        monitor = next(o for o in run.objects if o["kind"] == "PodMonitor")
        pod = sparkdriver.driver_pod(run.objects)
        ports = {p["name"]: p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
        deadline = time.monotonic() + 60
        run.notes["scraped"] = {
            e["path"]: _get(driver.ip, ports[e["port"]], e["path"], deadline)
            for e in monitor["spec"]["podMetricsEndpoints"]
        }
        cluster.read_ui(run)
    finally:
        cluster.release(run)


sparkdriver.register([
    App(NAME, "sh-metrics", ["pyspark-pi.yaml"], sparkdriver.through_the_service({
        "app": {"mainApplicationFile": f"local://{sparkdriver.APPS_IN_IMAGE}/pi_paths.py",
                "arguments": ["2", "--hold", "/tmp/release"]},
        "metrics": {"enabled": True, "podMonitor": {"enabled": True}},
        "ui": {"ingress": {"enabled": True, "host": "spark.example.com"}},
        "scheduler": {"queue": "team-a", "kueue": {"enabled": True}, "gang": {"enabled": True}},
        "ttl": "1h",
    }), during=scrape_then_release, cost=2),
])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> AppRun:
    return sparkdriver.suite_runs(tmp_path_factory)[NAME]


def _samples(body: str) -> list[Any]:
    return [SAMPLE.match(line) for line in body.splitlines() if line and not line.startswith("#")]


def test_the_driver_answers_on_the_podmonitor_paths(run: AppRun) -> None:
    scraped = run.notes.get("scraped", {})
    assert set(scraped) == {"/metrics/prometheus/", "/metrics/executors/prometheus"}, run.describe()
    status, body = scraped["/metrics/prometheus/"]
    assert status == 200, body[:500]
    samples = _samples(body)
    assert samples and all(samples), [line for line in body.splitlines() if line and not SAMPLE.match(line)][:5]
    names = {m.group("name") for m in samples if m}
    # metrics.namespace "spark", the driver instance: one name for every application, not its app ID
    assert all(name.startswith("metrics_spark_driver_") for name in names), sorted(names)[:5]
    assert any("_jvm_" in name for name in names), "metrics.jvmSource adds the JVM's metrics"
    assert any("_DAGScheduler_" in name for name in names)
    status, body = scraped["/metrics/executors/prometheus"]
    assert status == 200, body[:500]
    executors = _samples(body)
    assert executors and all(executors)
    # the executors that ran report through the driver, each by its ID
    reported = {re.search(r'executor_id="([^"]+)"', m.group("labels") or "").group(1)  # type: ignore[union-attr]
                for m in executors if m and 'executor_id="' in (m.group("labels") or "")}
    assert {"1", "2"} <= reported, body[:800]


def test_the_ui_still_answers_through_the_proxy_base(run: AppRun) -> None:
    assert sparkdriver.ui_problems(run) == [], run.describe()


def test_spark_creates_executors_with_the_queue_gang_and_ttl_metadata(run: AppRun) -> None:
    assert run.returncode == 0, run.describe()
    pods = run.created("pods")
    assert len(pods) == 2, run.describe()
    for pod in pods:
        labels, annotations = pod["metadata"]["labels"], pod["metadata"]["annotations"]
        assert labels["kueue.x-k8s.io/queue-name"] == "team-a" and labels["kueue.x-k8s.io/managed"] == "true"
        assert annotations["kueue.x-k8s.io/pod-group-name"] == f"{NAME}-executors"
        assert annotations["kueue.x-k8s.io/pod-group-total-count"] == "2"
        assert annotations["sparkhelm.io/ttl"] == "1h"
        assert pod["spec"]["schedulingGroup"] == {"podGroupName": f"{NAME}-executors"}
