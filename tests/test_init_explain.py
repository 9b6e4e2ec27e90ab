"""`sparkhelm init` (a commented starter that renders as it is) and `sparkhelm explain` (each value's source)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from ruamel.yaml import YAML

from sparkhelm import api
from sparkhelm.chart import docs as valuedocs
from sparkhelm.chart.files import default_values
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.spec.layers import coalesce
from tests.conftest import CHART, VALUES_DIR, write_values
from tests.invariants import check_application

DOCS = valuedocs.by_key(valuedocs.chart_docs(CHART))


@pytest.mark.parametrize("language", ["python", "scala"])
def test_init_writes_a_commented_starter_that_renders_as_it_is(cli, tmp_path: Path, language: str) -> None:
    target = tmp_path / "app.yaml"
    result = cli("init", f"--{language}", "-o", target)
    assert result.exit_code == 0 and result.stdout == "" and "sparkhelm run -f" in result.stderr
    text = target.read_text()
    assert text.startswith("# Starter values for sparkhelm") and text == cli("init", f"--{language}").stdout
    data = yaml.safe_load(text)
    assert ("mainClass" in data["app"]) == (language == "scala")
    # The chart's own comments, above their keys.
    comments = " ".join(line.strip().lstrip("# ") for line in text.splitlines() if line.strip().startswith("#"))
    for key in ("app.mainApplicationFile", "executor.instances", "driver.memory", "sparkConf"):
        assert DOCS[key].description in comments, key
    # A ruamel round trip keeps every comment (it is a round-trip document, not text glued to YAML).
    loaded, out = YAML(typ="rt"), io.StringIO()
    loaded.indent(mapping=2, sequence=4, offset=2)
    loaded.width = 100
    loaded.dump(loaded.load(text), out)
    assert [x for x in out.getvalue().splitlines() if x.strip()] == [x for x in text.splitlines() if x.strip()]
    # It renders as it is, and every invariant holds.
    app = api.compute_values(api.Inputs(values_files=[target], name=f"starter-{language}"))
    secret = app.values["security"]["rpc"]["secret"]  # generated at random: the render gets the same one
    rendered = cli("template", "-f", target, "--name", f"starter-{language}", "-n", "spark-jobs",
                   "--set", f"security.rpc.secret={secret}")
    assert rendered.exit_code == 0, rendered.stderr
    effective = coalesce(default_values(CHART), app.values)
    pieces = check_application(parse_manifest(rendered.stdout), app_name=f"starter-{language}", namespace="spark-jobs", values=effective)
    args = pieces["pod"]["spec"]["containers"][0]["args"]
    assert ("org.apache.spark.examples.SparkPi" in args) == (language == "scala")


def test_init_refuses_to_overwrite_and_bad_combinations(cli, tmp_path: Path) -> None:
    target = tmp_path / "app.yaml"
    target.write_text("keep: me\n")
    result = cli("init", "-o", target)
    assert result.exit_code == 2 and str(target) in result.stderr and "--force" in result.stderr
    assert result.stderr.count("\n") == 1 and target.read_text() == "keep: me\n"
    assert cli("init", "-o", target, "--force").exit_code == 0 and "mainApplicationFile" in target.read_text()
    both = cli("init", "--python", "--scala")
    assert both.exit_code == 2 and "--python" in both.stderr and both.stdout == ""
    nowhere = cli("init", "-o", tmp_path / "missing" / "app.yaml")
    assert nowhere.exit_code == 2 and "does not exist" in nowhere.stderr


def _rows(cli, *args) -> dict[str, dict]:
    result = cli("explain", *args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return {row["key"]: row for row in json.loads(result.stdout)}


def test_explain_names_the_source_of_every_value(cli, tmp_path: Path) -> None:
    base = write_values(tmp_path, {"executor": {"memory": "2g", "cores": 1}, "driver": {"memory": "1g"}}, "base.yaml")
    env = write_values(tmp_path, {"executor": {"memory": "3g"}}, "env.yaml")
    rows = _rows(
        cli, "-f", VALUES_DIR / "prod.yaml", "-f", base, "-f", env,
        "--set", "executor.instances=5", "--set-string", "app.arguments[0]=42", "--name", "nightly",
    )
    assert rows["nameOverride"] == {**rows["nameOverride"], "value": "nightly", "source": "--name"}
    assert rows["executor.memory"]["value"] == "3g" and rows["executor.memory"]["source"] == f"file {env}"
    assert rows["executor.cores"]["value"] == 1 and rows["executor.cores"]["source"] == f"file {base}"
    assert rows["driver.memory"]["source"] == f"file {base}"  # set to the default's value, still the file's doing
    assert rows["executor.instances"] == {**rows["executor.instances"], "value": 5, "source": "--set executor.instances=5"}
    assert rows["app.arguments"]["value"] == ["42"] and rows["app.arguments"]["source"] == "--set-string app.arguments[0]=42"
    assert rows["scheduler.name"]["source"] == f"file {VALUES_DIR / 'prod.yaml'}"
    # The chart derives the UI path and the node affinity from these values (one home for each rule).
    assert rows["ui.ingress.path"] == {**rows["ui.ingress.path"], "value": "", "source": "chart default"}
    assert rows["executor.nodeAffinity.values"]["source"] == f"file {VALUES_DIR / 'prod.yaml'}"
    assert rows["commonAnnotations"] == {**rows["commonAnnotations"], "value": {}, "source": "chart default"}
    assert rows["executor.instances"]["description"] == DOCS["executor.instances"].description
    # Every documented chart value is accounted for, by itself or through its children.
    for key in DOCS:
        assert key in rows or any(k.startswith(key + ".") for k in rows) or DOCS[key].default is None, key


def test_explain_generated_name_table_and_changed(cli) -> None:
    rows = _rows(cli, "-f", VALUES_DIR / "pyspark-pi.yaml")
    assert rows["nameOverride"]["source"] == "computed by sparkhelm (generated app name)"
    changed = cli("explain", "-f", VALUES_DIR / "pyspark-pi.yaml", "--changed")
    assert changed.exit_code == 0
    lines = changed.stdout.splitlines()
    assert lines[0].split() == ["KEY", "VALUE", "SOURCE"]
    assert all("chart default" not in line for line in lines)
    assert any(line.startswith("app.mainApplicationFile ") and "file " in line for line in lines)
    full = cli("explain", "-f", VALUES_DIR / "pyspark-pi.yaml").stdout.splitlines()
    assert len(full) > len(lines) and any(line.endswith("chart default") for line in full)


def test_explain_refuses_bad_input_like_the_other_commands(cli) -> None:
    result = cli("explain", "--set", "app.mainApplicationFile=x.py", "--set", "executor.memory=lots")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "executor.memory" in result.stderr
    assert cli("explain", "-o", "xml").exit_code == 2


def test_explain_table_keeps_long_values_on_one_short_line(cli, tmp_path: Path) -> None:
    """The table once padded every row to 263 columns; long values are cut there and whole in -o yaml/json."""
    long_env = "export A=1\n" * 40
    path = write_values(tmp_path, {"sparkEnv": long_env})
    table = cli("explain", "-f", path, "--name", "x").stdout.splitlines()
    assert table[0].index("SOURCE") - table[0].index("VALUE") <= 60 + 3  # the value column: at most 60 wide
    row = next(line for line in table if line.startswith("sparkEnv "))
    assert "…" in row
    assert _rows(cli, "-f", path, "--name", "x")["sparkEnv"]["value"] == long_env
