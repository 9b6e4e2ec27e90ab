"""The Helmfile examples, rendered the way Helmfile hands releases to Helm.

There is no helmfile binary here, so the test does Helmfile's part for the features the examples
use: the chart path and values files relative to the helmfile, values files (and inline maps) in
order, then `set` entries as `--set name=value` (`values:` as `{a,b}`); Helm then renders with
the release name and namespace, and no sparkhelm in between.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sparkhelm.chart import files as chartfiles
from sparkhelm.spec import layers as values_mod
from sparkhelm.engine.embedded import EmbeddedEngine
from sparkhelm.engine.manifests import parse_manifest
from sparkhelm.spec.setparser import parse_set
from tests.conftest import CHART, ROOT
from tests.invariants import check_application, parse_spark_defaults

EXAMPLES = ROOT / "examples"
HELMFILE = yaml.safe_load((EXAMPLES / "helmfile.yaml").read_text())
RELEASES = HELMFILE["releases"]


def helm_values(release: dict[str, Any], base: Path) -> dict[str, Any]:
    """The values Helm receives for a release: -f files / inline maps in order, then --set entries."""
    merged: dict[str, Any] = {}
    for entry in release.get("values", []):
        layer = entry if isinstance(entry, dict) else values_mod.load_values_file(base / entry)
        merged = values_mod.merge(merged, layer)
    for entry in release.get("set", []):
        if "values" in entry:
            parse_set(f"{entry['name']}={{{','.join(str(v) for v in entry['values'])}}}", merged)
        else:
            parse_set(f"{entry['name']}={entry['value']}", merged)
    return merged


def render_release(name: str, namespace: str, chart: Path, supplied: dict[str, Any]) -> dict[str, Any]:
    rendered = EmbeddedEngine().render(chart, supplied, release=name, namespace=namespace)
    effective = values_mod.coalesce(chartfiles.default_values(chart), supplied)
    app_name = supplied.get("nameOverride") or name
    return check_application(parse_manifest(rendered.manifest), app_name=app_name, namespace=namespace, values=effective)


def test_the_helmfile_has_two_applications_from_the_chart() -> None:
    assert len(RELEASES) == 2 and len({r["name"] for r in RELEASES}) == 2
    for release in RELEASES:
        assert (EXAMPLES / release["chart"]).resolve() == CHART.resolve()
        files = [v for v in release["values"] if isinstance(v, str)]
        assert len(files) >= 2, "layered values"
        for path in files:
            assert (EXAMPLES / path).is_file(), path
    assert HELMFILE["helmDefaults"]["wait"] is False


@pytest.mark.parametrize("release", RELEASES, ids=[r["name"] for r in RELEASES])
def test_each_release_renders_as_helm_gets_it(release: dict[str, Any]) -> None:
    supplied = helm_values(release, EXAMPLES)
    pieces = render_release(release["name"], release["namespace"], (EXAMPLES / release["chart"]).resolve(), supplied)
    conf = pieces["conf"]
    assert conf["spark.kubernetes.namespace"] == release["namespace"]
    assert pieces["pod"]["metadata"]["name"] == f"{release['name']}-driver"
    if release["name"] == "nightly-etl":
        # prod.yaml, then nightly-etl.yaml over it, then the set entries over both.
        assert conf["spark.executor.instances"] == "6"
        assert conf["spark.executor.memory"] == "6g"
        assert conf["spark.sql.shuffle.partitions"] == "400"
        assert pieces["pod"]["spec"]["schedulerName"] == "volcano"
        assert pieces["pod"]["metadata"]["labels"]["pipeline"] == "nightly"
        assert pieces["pod"]["spec"]["containers"][0]["args"][-1] == "2000"
    else:
        # dev.yaml under pyspark-pi.yaml, and the inline map last.
        assert conf["spark.executor.instances"] == "2" and conf["spark.executor.memory"] == "512m"
        assert conf["spark.sql.shuffle.partitions"] == "4" and conf["spark.eventLog.enabled"] == "false"


def _per_run_command(name: str) -> list[str]:
    """The `sparkhelm values` arguments of helmfile-per-run.yaml.gotmpl, with $name filled in."""
    text = (EXAMPLES / "helmfile-per-run.yaml.gotmpl").read_text()
    match = re.search(r'exec "sparkhelm" \(list (.*?)\) \| fromYaml \| toJson', text)
    assert match, "the per-run example must exec sparkhelm values"
    tokens = re.findall(r'"([^"]*)"|(\$\w+)', match.group(1))
    return [quoted if quoted else name for quoted, _ in tokens]


def test_per_run_names_come_from_sparkhelm_values(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (EXAMPLES / "helmfile-per-run.yaml.gotmpl").read_text()
    assert 'printf "nightly-etl-%s" (requiredEnv "RUN_ID" | lower)' in text and "- name: {{ $name }}" in text
    monkeypatch.chdir(EXAMPLES)
    names = []
    for run_id in ("20261121-020000", "20261122-020000"):
        name = f"nightly-etl-{run_id}"
        argv = _per_run_command(name)
        assert argv[0] == "values" and argv[-2:] == ["--name", name]
        result = cli(*argv)
        assert result.exit_code == 0, result.stderr
        supplied = yaml.safe_load(result.stdout)
        assert supplied["nameOverride"] == name and supplied["ui"]["ingress"]["path"] == f"/{name}"
        pieces = render_release(name, "spark-jobs", (EXAMPLES / "../charts/spark-client-app").resolve(), supplied)
        assert parse_spark_defaults(pieces["configmap"]["data"]["spark-defaults.conf"])["spark.app.name"] == "nightly-etl"
        names.append(pieces["pod"]["metadata"]["name"])
    assert names == [f"nightly-etl-{r}-driver" for r in ("20261121-020000", "20261122-020000")]
