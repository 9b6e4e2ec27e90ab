from __future__ import annotations

from pathlib import Path

import pytest

from sparkhelm import naming
from sparkhelm import values as values_mod
from sparkhelm.errors import UserError
from tests.conftest import CHART, PI, write_values


def test_files_merge_in_order_lists_replaced(tmp_path: Path) -> None:
    first = write_values(tmp_path, {"a": {"x": 1, "y": [1, 2]}, "b": 1}, "1.yaml")
    second = write_values(tmp_path, {"a": {"y": [3]}, "b": 2}, "2.yaml")
    assert values_mod.user_values([first, second]) == {"a": {"x": 1, "y": [3]}, "b": 2}


def test_set_wins_over_files_and_set_string_over_set(tmp_path: Path) -> None:
    path = write_values(tmp_path, {"a": 1})
    assert values_mod.user_values([path], ["a=2"], ["a=3"]) == {"a": "3"}


def test_null_removes_a_chart_default() -> None:
    merged = values_mod.coalesce({"a": {"b": 1, "c": 2}}, {"a": {"b": None}})
    assert merged == {"a": {"c": 2}}


def test_empty_file_is_empty_mapping(tmp_path: Path) -> None:
    assert values_mod.load_values_file(write_values(tmp_path, "")) == {}


def test_name_precedence(tmp_path: Path) -> None:
    path = write_values(tmp_path, {"nameOverride": "from-file", "app": {"mainApplicationFile": PI}})
    assert values_mod.compute(CHART, [path], name="from-flag").app_name == "from-flag"
    assert values_mod.compute(CHART, [path]).app_name == "from-file"
    generated = values_mod.compute(CHART, [], [f"app.mainApplicationFile={PI}", "priorityClassName=rush"]).app_name
    assert generated.startswith("pi-rush-") and len(generated) == len("pi-rush-") + naming.SUFFIX_LENGTH


def test_computed_values(tmp_path: Path) -> None:
    path = write_values(tmp_path, {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True}},
                                   "executor": {"nodeAffinity": {"key": "pool", "values": ["a"]}}})
    computed = values_mod.compute(CHART, [path], name="etl").values
    assert computed["nameOverride"] == "etl"
    assert computed["ui"]["ingress"]["path"] == "/etl"
    assert computed["executor"]["nodeAffinity"]["values"] == []
    expression = computed["executor"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert expression == {"key": "pool", "operator": "In", "values": ["a"]}
    assert "driver" not in computed


def test_host_mode_gets_no_path(tmp_path: Path) -> None:
    path = write_values(tmp_path, {"app": {"mainApplicationFile": PI}, "ui": {"ingress": {"enabled": True, "mode": "host", "domain": "example.com"}}})
    assert "path" not in values_mod.compute(CHART, [path], name="etl").values["ui"]["ingress"]


def test_user_values_are_not_mutated(tmp_path: Path) -> None:
    user = {"app": {"mainApplicationFile": PI}, "driver": {"nodeAffinity": {"values": ["a"]}}}
    effective = values_mod.coalesce({}, user)
    values_mod.derive(user, effective, "etl")
    assert user["driver"]["nodeAffinity"]["values"] == ["a"]


def test_wiring_key_error_names_replacement() -> None:
    with pytest.raises(UserError, match="remove it and set driver.blockManagerPort instead"):
        values_mod.compute(CHART, [], [f"app.mainApplicationFile={PI}", "sparkConf.spark\\.driver\\.blockManager\\.port=1"], name="x")


def test_a_values_file_is_parsed_once_while_unchanged(tmp_path) -> None:
    """render_many of a fleet sharing files parses each file once; a changed file is read again."""
    path = tmp_path / "shared.yaml"
    path.write_text(f"app:\n  mainApplicationFile: {PI}\nexecutor:\n  instances: 3\n")
    first = values_mod.compute(CHART, [path], ["executor.cores=2"], name="one").values
    assert values_mod.load_values_file(path) is values_mod.load_values_file(path)
    second = values_mod.compute(CHART, [path], name="two").values
    assert first["executor"] == {"instances": 3, "cores": 2} and second["executor"] == {"instances": 3}
    assert values_mod.load_values_file(path) == {"app": {"mainApplicationFile": PI}, "executor": {"instances": 3}}
    path.write_text(f"app:\n  mainApplicationFile: {PI}\nexecutor:\n  instances: 12\n")
    assert values_mod.compute(CHART, [path], name="three").values["executor"] == {"instances": 12}
