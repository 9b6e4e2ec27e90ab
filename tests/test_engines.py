"""Engine selection and the helm-binary engine, through a fake `helm` that records what it is given."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from sparkhelm.engine import get_engine
from sparkhelm.errors import UserError
from tests.conftest import VALUES_DIR

CANNED = "---\n# Source: spark-client-app/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fake-cm\n  namespace: ns\n"

FAKE_HELM = f"""#!{sys.executable}
import json, os, sys
record = os.environ["FAKE_HELM_RECORD"]
stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
with open(record, "a") as handle:
    handle.write(json.dumps({{"argv": sys.argv[1:], "stdin": stdin}}) + "\\n")
if sys.argv[1:2] == ["version"]:
    print(os.environ.get("FAKE_HELM_VERSION", "v3.16.2"), end="")
elif sys.argv[1:2] == ["template"]:
    if os.environ.get("FAKE_HELM_FAIL"):
        print("Error: " + os.environ["FAKE_HELM_FAIL"], file=sys.stderr)
        sys.exit(1)
    sys.stdout.write({CANNED!r})
"""


@pytest.fixture
def fake_helm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text(FAKE_HELM)
    helm.chmod(helm.stat().st_mode | stat.S_IEXEC)
    record = tmp_path / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_HELM_RECORD", str(record))
    return record


def calls(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()]


def test_auto_picks_helm_binary_when_on_path(fake_helm: Path) -> None:
    assert get_engine("auto").name == "helm"
    assert get_engine("embedded").name == "embedded"


def test_auto_picks_embedded_without_helm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert get_engine("auto").name == "embedded"
    with pytest.raises(UserError, match="--engine helm: no helm binary"):
        get_engine("helm")


def test_template_through_helm_binary(cli, fake_helm: Path) -> None:
    result = cli("template", "-f", VALUES_DIR / "prod.yaml", "--name", "etl", "-n", "spark-jobs", "--engine", "helm")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == CANNED
    (call,) = [c for c in calls(fake_helm) if c["argv"][0] == "template"]
    argv = call["argv"]
    assert argv[:3] == ["template", "etl", str(Path("charts/spark-client-app").resolve())]
    assert argv[argv.index("--namespace") + 1] == "spark-jobs"
    assert argv[argv.index("--values") + 1] == "-"
    assert not any(a.startswith("--kube-token") for a in argv)
    sent = json.loads(call["stdin"])
    assert sent["nameOverride"] == "etl" and sent["scheduler"] == {"name": "volcano"}


def test_helm_binary_render_failure_is_user_error(cli, fake_helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HELM_FAIL", "execution error at (spark-client-app/templates/x.yaml:1:2): something is wrong")
    result = cli("template", "-f", VALUES_DIR / "prod.yaml", "--name", "etl", "--engine", "helm")
    assert result.exit_code == 2
    assert result.stderr.strip() == "sparkhelm: error: invalid values: something is wrong"


def test_helm_binary_other_failure_is_runtime_error(cli, fake_helm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_HELM_FAIL", "chart requires kubeVersion: >=1.25.0-0 which is incompatible")
    result = cli("template", "-f", VALUES_DIR / "prod.yaml", "--name", "etl", "--engine", "helm")
    assert result.exit_code == 1
    assert "kubeVersion" in result.stderr and result.stderr.count("\n") == 1
