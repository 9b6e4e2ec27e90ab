"""The chart's documentation: every value has a `# --` comment, the README table is generated and
current, Artifact Hub metadata is complete, and chart-testing has its values files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from sparkhelm.chart import docs as valuedocs
from tests.conftest import CHART, ROOT

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
CHART_YAML = yaml.safe_load((CHART / "Chart.yaml").read_text())


def _chart_readme_script():
    spec = importlib.util.spec_from_file_location("chart_readme", ROOT / "scripts" / "chart_readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _schema_node(parts: list[str]) -> dict:
    node = SCHEMA
    for part in parts:
        while "$ref" in node:  # local refs only: the schema is self-contained
            node = SCHEMA["definitions"][node["$ref"].removeprefix("#/definitions/")]
        properties = node.get("properties", {})
        assert part in properties, f"{'.'.join(parts)}: not in values.schema.json"
        node = properties[part]
    return node


def test_every_value_is_documented_and_in_the_schema() -> None:
    docs = valuedocs.chart_docs(CHART)
    assert len(docs) > 80
    for doc in docs:
        assert doc.description, f"{doc.key} has no '# --' comment in values.yaml"
        _schema_node(doc.parts)
    documented = {doc.parts[0] for doc in docs}
    assert set(SCHEMA["properties"]) - {"global"} == documented


def test_the_chart_readme_table_is_generated_and_current() -> None:
    script = _chart_readme_script()
    current = (CHART / "README.md").read_text()
    assert script.render(current, valuedocs.chart_docs(CHART)) == current, "stale: run python scripts/chart_readme.py"
    for doc in valuedocs.chart_docs(CHART):
        assert f"| `{doc.key}` | {doc.type} |" in current


def test_a_changed_comment_makes_the_readme_stale(tmp_path: Path) -> None:
    script = _chart_readme_script()
    changed = (CHART / "values.yaml").read_text().replace(
        "# -- Number of executors", "# -- How many executors run", 1
    )
    assert changed != (CHART / "values.yaml").read_text()
    (tmp_path / "values.yaml").write_text(changed)
    current = (CHART / "README.md").read_text()
    fresh = script.render(current, valuedocs.read(tmp_path / "values.yaml"))
    assert fresh != current and "How many executors run" in fresh


def test_doc_reader_on_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(
        "# header, not a doc\n\n"
        "# -- First line\n# second line.\n# @default -- computed\nname: \"\"\n"
        "outer:\n  # -- Inner value.\n  inner: 3\n  # -- A map documented whole.\n  extra: {a: 1}\n"
        "undocumented: true\n"
    )
    docs = valuedocs.by_key(valuedocs.read(path))
    assert docs["name"].description == "First line second line." and docs["name"].default_text == "computed"
    assert (docs["outer.inner"].type, docs["outer.inner"].default, docs["outer.inner"].default_text) == ("int", 3, "3")
    assert docs["outer.extra"].default == {"a": 1} and docs["outer.extra"].type == "object"
    assert docs["undocumented"].description == ""
    assert valuedocs.describe("outer.extra.a", docs) == "A map documented whole."


def test_artifact_hub_annotations() -> None:
    annotations = CHART_YAML["annotations"]
    assert annotations["artifacthub.io/license"] == "Apache-2.0"
    images = yaml.safe_load(annotations["artifacthub.io/images"])
    assert images == [{"name": "spark", "image": f"apache/spark:{CHART_YAML['appVersion']}"}]
    links = yaml.safe_load(annotations["artifacthub.io/links"])
    assert links and all(link["url"].startswith("https://") and link["name"] for link in links)
    changes = yaml.safe_load(annotations["artifacthub.io/changes"])
    kinds = {"added", "changed", "deprecated", "removed", "fixed", "security"}
    assert changes and all(change["kind"] in kinds and change["description"] for change in changes)


@pytest.mark.parametrize("name", ["default-values.yaml", "ingress-values.yaml", "jvm-dynamic-values.yaml"])
def test_chart_testing_values_files_exist(name: str) -> None:
    assert yaml.safe_load((CHART / "ci" / name).read_text())["app"]["mainApplicationFile"]
