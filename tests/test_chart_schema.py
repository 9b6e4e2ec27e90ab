"""values.schema.json: its descriptions are generated from the `# --` comments of values.yaml
(scripts/chart_schema.py), its error hints are the `errorMessage` keyword, which validators ignore."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
import yaml

from tests.conftest import CHART, ROOT, VALUES_DIR

SCHEMA_PATH = CHART / "values.schema.json"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("chart_schema", ROOT / "scripts" / "chart_schema.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _docs() -> list[Any]:
    """The value docs, read by the reader the script uses."""
    return list(_script().valuedocs.chart_docs(CHART))


def _over(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`change` merged into a copy of `base`, maps recursively (as Helm merges values)."""
    merged = copy.deepcopy(base)
    for key, value in change.items():
        merged[key] = _over(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def _property(schema: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    node = schema
    for part in parts:
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].removeprefix("#/definitions/")]
        node = node["properties"][part]
    return node


def _all(schema: Any, keyword: str) -> list[Any]:
    """Every value of `keyword` in schema nodes (property names called `keyword` excluded)."""
    found: list[Any] = []

    def walk(node: Any, in_map: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == keyword and not in_map:
                    found.append(value)
                walk(value, key in ("properties", "definitions", "patternProperties") and not in_map)
        elif isinstance(node, list):
            for item in node:
                walk(item, False)

    walk(schema, False)
    return found


def test_the_committed_schema_is_the_generated_one() -> None:
    assert _script().render(CHART) == SCHEMA_PATH.read_text(), "stale: run python scripts/chart_schema.py"
    assert _script().main(["--check"]) == 0


def test_every_documented_value_has_its_comment_as_schema_description() -> None:
    docs = _docs()
    schema = _schema()
    for doc in docs:
        assert doc.description, doc.key
        assert _property(schema, doc.parts).get("description") == doc.description, doc.key


def test_every_description_in_the_schema_comes_from_values_yaml() -> None:
    docs = _docs()
    first_line = (CHART / "values.yaml").read_text().splitlines()[0].lstrip("# ")
    descriptions = _all(_schema(), "description")
    assert len(descriptions) == len(docs) + 1  # one per documented value, and the root's
    assert set(descriptions) == {doc.description for doc in docs} | {first_line}


def test_a_changed_comment_makes_the_check_fail_until_regenerated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    values_yaml = chart / "values.yaml"
    changed = values_yaml.read_text().replace("# -- Number of executors", "# -- How many executors run", 1)
    assert changed != values_yaml.read_text()
    values_yaml.write_text(changed)
    script = _script()
    assert script.main(["--check", "--chart", str(chart)]) == 1
    assert "stale" in capsys.readouterr().err
    assert script.main(["--chart", str(chart)]) == 0
    assert script.main(["--check", "--chart", str(chart)]) == 0
    regenerated = json.loads((chart / "values.schema.json").read_text())
    assert _property(regenerated, ["executor", "instances"])["description"].startswith("How many executors run")


def test_a_value_documented_but_missing_from_the_schema_is_an_error(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    (chart / "values.yaml").write_text((chart / "values.yaml").read_text() + "\n# -- A value the schema lacks.\nnewValue: 1\n")
    with pytest.raises(SystemExit, match="newValue is documented in values.yaml but not in values.schema.json"):
        _script().render(chart)


def test_error_messages_are_strings_and_change_no_verdict() -> None:
    """errorMessage is an annotation: the schema without it accepts and refuses the same values."""
    schema = _schema()
    messages = _all(schema, "errorMessage")
    assert len(messages) >= 30 and all(isinstance(m, str) and m for m in messages)
    jsonschema.Draft7Validator.check_schema(schema)

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("errorMessage", "description")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    bare = strip(copy.deepcopy(schema))
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    corpus = [defaults] + [_over(defaults, yaml.safe_load(p.read_text())) for p in sorted(VALUES_DIR.glob("*.yaml"))]
    for change in ({"driver": {"port": 80}}, {"image": {"repository": "UP"}}, {"sparkConf": {"foo": 1}},
                   {"sparkConf": {"spark.a": "x\ny"}}, {"app": {"mainApplicationFile": ""}}, {"ui": {"ingress": {"enabled": True, "mode": "host"}}}):
        corpus.append(_over(defaults, change))
    verdicts = []
    for instance in corpus:
        both = {
            jsonschema.Draft7Validator(schema).is_valid(instance), jsonschema.Draft7Validator(bare).is_valid(instance),
            jsonschema_rs.Draft7Validator(schema).is_valid(instance), jsonschema_rs.Draft7Validator(bare).is_valid(instance),
        }
        assert len(both) == 1, instance
        verdicts.append(both.pop())
    assert verdicts[:1 + len(list(VALUES_DIR.glob("*.yaml")))] == [True] * (1 + len(list(VALUES_DIR.glob("*.yaml"))))
    assert not any(verdicts[1 + len(list(VALUES_DIR.glob("*.yaml"))):])


def test_a_documented_value_under_a_shared_definition_is_an_error(tmp_path: Path) -> None:
    """A description written into a `$ref`'d definition would describe every value that uses it."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    schema = _schema()
    schema["definitions"]["affinityShorthand"] = schema["properties"]["driver"]["properties"]["nodeAffinity"]
    schema["properties"]["driver"]["properties"]["nodeAffinity"] = {"$ref": "#/definitions/affinityShorthand"}
    (chart / "values.schema.json").write_text(json.dumps(schema))
    with pytest.raises(SystemExit, match=r"driver.nodeAffinity.key: its parent driver.nodeAffinity is a \$ref"):
        _script().render(chart)
