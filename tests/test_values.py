"""Computing an app's values: Helm's layering, the app-name, and the schema checked before anything is derived."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkhelm import api
from sparkhelm.errors import UserError
from sparkhelm.spec import layers, naming
from sparkhelm.spec.compute import compute
from tests.conftest import CHART, PI, render_objects, write_values


def test_files_merge_in_order_lists_replaced(tmp_path: Path) -> None:
    first = write_values(tmp_path, {"a": {"x": 1, "y": [1, 2]}, "b": 1}, "1.yaml")
    second = write_values(tmp_path, {"a": {"y": [3]}, "b": 2}, "2.yaml")
    assert layers.user_values([first, second]) == {"a": {"x": 1, "y": [3]}, "b": 2}


def test_set_wins_over_files_and_set_string_over_set(tmp_path: Path) -> None:
    path = write_values(tmp_path, {"a": 1})
    assert layers.user_values([path], ["a=2"], ["a=3"]) == {"a": "3"}


def test_null_removes_a_chart_default() -> None:
    merged = layers.coalesce({"a": {"b": 1, "c": 2}}, {"a": {"b": None}})
    assert merged == {"a": {"c": 2}}


def test_empty_file_is_empty_mapping(tmp_path: Path) -> None:
    assert layers.load_values_file(write_values(tmp_path, "")) == {}


def test_name_precedence(tmp_path: Path) -> None:
    path = write_values(tmp_path, {"nameOverride": "from-file", "app": {"mainApplicationFile": PI}})
    assert compute(CHART, [path], name="from-flag").app_name == "from-flag"
    assert compute(CHART, [path]).app_name == "from-file"
    generated = compute(CHART, [], [f"app.mainApplicationFile={PI}", "priorityClassName=rush"]).app_name
    assert generated.startswith("pi-rush-") and len(generated) == len("pi-rush-") + naming.SUFFIX_LENGTH


def test_sparkhelm_computes_only_the_name_the_chart_derives_the_rest(tmp_path: Path) -> None:
    """Node affinity and the UI path have one home, the chart: `values` prints them as the user gave them.

    Besides the name, sparkhelm generates only the RPC secret (tests/test_rpc_auth.py), a random value
    the chart cannot derive deterministically.
    """
    user = {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True}},
            "executor": {"nodeAffinity": {"key": "pool", "values": ["a"]}}}
    computed = compute(CHART, [write_values(tmp_path, user)], name="etl").values
    secret = computed.pop("security")["rpc"].pop("secret")
    assert len(secret) == 64
    assert computed == {"nameOverride": "etl", **user}
    objects, _, _ = render_objects(tmp_path, user, name="etl")
    ingress = next(o for o in objects if o["kind"] == "Ingress")
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["path"].startswith("/etl(")
    template = next(o for o in objects if o["kind"] == "ConfigMap")["data"]["executor-pod-template.yaml"]
    assert "key: pool" in template and "- a" in template


def test_a_string_where_a_list_belongs_is_refused_before_anything_is_derived(tmp_path: Path) -> None:
    """Outside use found `values: driver-pool` rendered as a list of letters; the schema check comes first now."""
    bad = write_values(tmp_path, {"driver": {"nodeAffinity": {"values": "driver-pool"}}})
    with pytest.raises(UserError, match=r"driver\.nodeAffinity\.values is 'driver-pool' \(str\): it must be of type array"):
        compute(CHART, [bad], name="x")
    for flawed in ({"app": {"name": ["a", "b"]}}, {"priorityClassName": ["rush"]}, {"app": {"mainClass": 7}}):
        with pytest.raises(UserError, match="invalid values"):
            compute(CHART, [write_values(tmp_path, flawed, "flawed.yaml")])


def test_wiring_key_error_names_replacement() -> None:
    with pytest.raises(UserError, match="remove it and set driver.blockManagerPort instead"):
        api.values(api.Inputs(sets=["sparkConf.spark\\.driver\\.blockManager\\.port=1"], name="x", chart=CHART))


def test_a_values_file_is_parsed_once_while_unchanged(tmp_path) -> None:
    """render_many of a fleet sharing files parses each file once; a changed file is read again."""
    path = tmp_path / "shared.yaml"
    path.write_text(f"app:\n  mainApplicationFile: {PI}\nexecutor:\n  instances: 3\n")
    first = compute(CHART, [path], ["executor.cores=2"], name="one").values
    assert layers.load_values_file(path) is layers.load_values_file(path)
    second = compute(CHART, [path], name="two").values
    assert first["executor"] == {"instances": 3, "cores": 2} and second["executor"] == {"instances": 3}
    assert layers.load_values_file(path) == {"app": {"mainApplicationFile": PI}, "executor": {"instances": 3}}
    path.write_text(f"app:\n  mainApplicationFile: {PI}\nexecutor:\n  instances: 12\n")
    assert compute(CHART, [path], name="three").values["executor"] == {"instances": 12}
