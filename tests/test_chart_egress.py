"""networkPolicy.egress: the chart README's ready-to-copy examples render valid NetworkPolicies that
open exactly the flows they promise, and without them the pods reach nothing outside the app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CHART, render_objects
from tests.invariants import validate_strictly
from tests.netpol import Endpoint, allowed, external, pod

NS = "spark-jobs"
DRIVER = pod(NS, app_name="etl", spark_role="driver")
EXECUTOR = pod(NS, app_name="etl", spark_role="executor")

#: What each README example must open (flows from both pods) and keep closed.
EXPECTED: list[tuple[str, list[tuple[Endpoint, int]], list[tuple[Endpoint, int]]]] = [
    ("object store outside", [(external("52.216.1.1"), 443)], [(external("10.1.2.3"), 443), (external("52.216.1.1"), 80)]),
    ("object store inside", [(pod("minio", app="minio"), 9000)], [(pod("minio", app="console"), 9000), (pod("other", app="minio"), 9000)]),
    ("hdfs", [(external("10.20.1.5"), 8020), (external("10.20.9.9"), 9866)], [(external("10.20.1.5"), 22), (external("10.30.1.5"), 8020)]),
    ("hive metastore", [(pod("hive", app="hive-metastore"), 9083)], [(pod("hive", app="hive-metastore"), 10000)]),
    ("kafka", [(pod("kafka", app="broker"), 9092), (pod("kafka", app="broker"), 9093)], [(pod("kafka", app="broker"), 2181)]),
]


def _readme_examples() -> list[dict[str, Any]]:
    readme = (CHART / "README.md").read_text()
    section = readme.split("## Egress", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.S)]


def _policies(tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    objects, _, _ = render_objects(tmp_path, values, name="etl", namespace=NS)
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


def test_the_readme_has_one_example_per_case() -> None:
    examples = _readme_examples()
    assert len(examples) == len(EXPECTED)
    assert all(list(e) == ["networkPolicy"] and list(e["networkPolicy"]) == ["egress"] for e in examples)


@pytest.mark.parametrize("index", range(len(EXPECTED)), ids=[e[0] for e in EXPECTED])
def test_a_readme_example_opens_what_it_promises_and_nothing_else(tmp_path: Path, index: int) -> None:
    _, opened, closed = EXPECTED[index]
    policies = _policies(tmp_path, _readme_examples()[index])
    assert len(policies) == 2
    for policy in policies:
        validate_strictly(policy, "1.29")
    for source in (DRIVER, EXECUTOR):
        for destination, port in opened:
            assert allowed(policies, source, destination, port), (source, destination, port)
    for destination, port in closed:  # the executors: the driver also reaches the API server on 443
        assert not allowed(policies, EXECUTOR, destination, port), (destination, port)


def test_without_egress_rules_the_pods_reach_none_of_these(tmp_path: Path) -> None:
    policies = _policies(tmp_path, {})
    for _, opened, _ in EXPECTED:
        for destination, port in opened:
            assert not allowed(policies, EXECUTOR, destination, port)
