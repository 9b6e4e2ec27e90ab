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
elif os.environ.get("FAKE_HELM_FAIL"):
    print("Error: " + os.environ["FAKE_HELM_FAIL"], file=sys.stderr)
    sys.exit(1)
elif sys.argv[1:2] == ["template"]:
    sys.stdout.write({CANNED!r})
elif sys.argv[1:2] == ["install"]:
    print(json.dumps({{"name": sys.argv[2], "info": {{"status": "deployed"}}}}))
elif sys.argv[1:2] == ["uninstall"]:
    print(f'release "{{sys.argv[2]}}" uninstalled')
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


# --- install / uninstall through the helm binary ---------------------------------------------

from sparkhelm.engine import Rendered  # noqa: E402
from sparkhelm.engine.helmbin import HelmBinaryEngine  # noqa: E402
from sparkhelm.errors import NameInUseError, OperationPendingError  # noqa: E402
from sparkhelm.kube.cluster import Cluster  # noqa: E402
from sparkhelm.kube.connection import Connection, KubeTarget, resolve  # noqa: E402
from tests.conftest import CHART  # noqa: E402

RENDERED = Rendered(manifest=CANNED, notes="")  # helm renders again itself: what it is given is not used


@pytest.fixture
def kube(tmp_path: Path) -> Connection:
    """A resolved connection to a named kubeconfig and context (the engine is told both, never a token)."""
    path = tmp_path / "team.yaml"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "dev",
        "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1"}}],
        "users": [{"name": "u", "user": {"token": "secret-token"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}},
                     {"name": "dev", "context": {"cluster": "c", "user": "u"}}],
    }))
    return resolve(KubeTarget(kubeconfig=str(path), context="prod", namespace="jobs"))


def _engine() -> HelmBinaryEngine:
    engine = get_engine("helm")
    assert isinstance(engine, HelmBinaryEngine)
    return engine


@pytest.mark.parametrize(
    ("version", "wait_flags"),
    [("v3.16.2", []), ("v4.1.0", ["--wait=hookOnly"])],
)
def test_install_flags_for_helm_3_and_4(fake_helm: Path, monkeypatch: pytest.MonkeyPatch, version: str,
                                        wait_flags: list[str], kube: Connection) -> None:
    monkeypatch.setenv("FAKE_HELM_VERSION", version)
    _engine().install(CHART, {"nameOverride": "pi-1"}, release="pi-1", cluster=Cluster(kube), rendered=RENDERED)
    recorded = calls(fake_helm)
    assert recorded[0]["argv"] == ["version", "--template", "{{.Version}}"]
    argv = recorded[1]["argv"]
    assert argv[:8] == ["install", "pi-1", str(CHART), "--namespace", "jobs", "--values", "-", "--description"]
    assert [a for a in argv if a.startswith("--wait")] == wait_flags
    assert argv[argv.index("--kubeconfig") + 1] == kube.kubeconfig_files[0]
    assert argv[argv.index("--kube-context") + 1] == "prod"
    assert "upgrade" not in argv and "--install" not in argv and "--take-ownership" not in argv
    assert not any("token" in a for a in argv)
    assert json.loads(recorded[1]["stdin"]) == {"nameOverride": "pi-1"}


@pytest.mark.parametrize(
    ("version", "wait", "expected_tail"),
    [
        ("v3.16.2", False, []),
        ("v3.16.2", True, ["--cascade", "foreground", "--wait"]),
        ("v4.1.0", True, ["--cascade", "foreground", "--wait=watcher"]),
    ],
)
def test_uninstall_flags_for_helm_3_and_4(fake_helm: Path, monkeypatch: pytest.MonkeyPatch, version: str,
                                          wait: bool, expected_tail: list[str], kube: Connection) -> None:
    monkeypatch.setenv("FAKE_HELM_VERSION", version)
    assert _engine().uninstall("pi-1", cluster=Cluster(kube), wait=wait) is True
    argv = calls(fake_helm)[-1]["argv"]
    assert argv[:4 + len(expected_tail)] == ["uninstall", "pi-1", "--namespace", "jobs", *expected_tail]
    assert argv[argv.index("--kube-context") + 1] == "prod"


def test_helm_version_is_asked_once(fake_helm: Path, kube: Connection) -> None:
    engine = _engine()
    engine.uninstall("a", cluster=Cluster(kube))
    engine.uninstall("b", cluster=Cluster(kube))
    assert [c["argv"][0] for c in calls(fake_helm)] == ["version", "uninstall", "uninstall"]


def test_uninstall_of_a_missing_release_is_not_an_error(fake_helm: Path, monkeypatch: pytest.MonkeyPatch,
                                                        kube: Connection) -> None:
    engine = _engine()
    engine.major_version()
    monkeypatch.setenv("FAKE_HELM_FAIL", "uninstall: Release not loaded: pi-1: release: not found")
    assert engine.uninstall("pi-1", cluster=Cluster(kube)) is False


@pytest.mark.parametrize(
    ("stderr", "error", "exit_code", "phrase"),
    [
        ("INSTALLATION FAILED: cannot reuse a name that is still in use", NameInUseError, 2, "already in use"),
        ("INSTALLATION FAILED: another operation (install/upgrade/rollback) is in progress", OperationPendingError, 1,
         "sparkhelm delete pi-1 -n jobs"),
        ('INSTALLATION FAILED: create: failed to create: Secret "sh.helm.release.v1.pi-1.v1" is invalid: data: Too '
         "long: must have at most 1048576 bytes", UserError, 2, "1 MiB"),
        ('Kubernetes cluster unreachable: Get "https://10.0.0.1/version": dial tcp 10.0.0.1:443: i/o timeout',
         Exception, 1, "cannot reach the Kubernetes API"),
        ('pods "pi-1-driver" is forbidden: User "me" cannot create resource "pods"', Exception, 1, "forbidden"),
    ],
)
def test_helm_errors_become_one_actionable_line(fake_helm: Path, monkeypatch: pytest.MonkeyPatch, stderr: str,
                                                error: type[Exception], exit_code: int, phrase: str,
                                                kube: Connection) -> None:
    engine = _engine()
    engine.major_version()
    monkeypatch.setenv("FAKE_HELM_FAIL", stderr)
    with pytest.raises(error) as caught:
        engine.install(CHART, {}, release="pi-1", cluster=Cluster(kube), rendered=RENDERED)
    assert getattr(caught.value, "exit_code", None) == exit_code
    assert phrase in str(caught.value)
    assert "\n" not in str(caught.value)
