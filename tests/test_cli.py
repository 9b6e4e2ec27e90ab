"""The CLI as users call it: commands, outputs, exit codes, start-up imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import PI, ROOT, VALUES_DIR
from tests.invariants import DNS_1035


def test_run_dry_run_prints_name_and_objects(cli) -> None:
    result = cli("run", "-f", VALUES_DIR / "prod.yaml", "--dry-run", "-n", "spark-jobs")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    app = lines[0].removeprefix("app: ")
    assert app.startswith("nightly-etl-routine-") and DNS_1035.match(app) and len(app) <= 47
    assert "namespace: spark-jobs" in lines and "engine: embedded" in lines
    assert f"  Pod/{app}-driver" in lines and f"  Ingress/{app}-ui-ingress" in lines
    assert lines.index(f"  ServiceAccount/{app}-driver") < lines.index(f"  Pod/{app}-driver")
    assert lines[-1] == "dry run: nothing was sent to a cluster"


def test_run_validates_input_before_looking_for_a_cluster(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    bad = cli("run", "--set", "executor.instances=-1", "--set", f"app.mainApplicationFile={PI}")
    assert bad.exit_code == 2 and "executor.instances" in bad.stderr and bad.stderr.count("\n") == 1
    good = cli("run", "-f", VALUES_DIR / "pyspark-pi.yaml")
    assert good.exit_code == 2 and "no kubeconfig at" in good.stderr and good.stderr.count("\n") == 1


def test_generated_names_differ_and_name_is_exact(cli) -> None:
    first = yaml.safe_load(cli("values", "-f", VALUES_DIR / "pyspark-pi.yaml").stdout)["nameOverride"]
    second = yaml.safe_load(cli("values", "-f", VALUES_DIR / "pyspark-pi.yaml").stdout)["nameOverride"]
    assert first != second and first.startswith("pyspark-pi-")
    named = yaml.safe_load(cli("values", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", "exact").stdout)
    assert named["nameOverride"] == "exact"


def test_template_namespace_flag(cli) -> None:
    out = cli("template", "-f", VALUES_DIR / "pyspark-pi.yaml", "--name", "x", "--namespace", "team-b").stdout
    assert {d["metadata"]["namespace"] for d in yaml.safe_load_all(out)} == {"team-b"}


def test_version(cli) -> None:
    result = cli("version")
    assert result.exit_code == 0
    assert "sparkhelm 0.1.0" in result.stdout and "chart spark-client-app 0.1.0 (Spark 4.3.0)" in result.stdout
    assert cli("--version").stdout.strip() == "sparkhelm 0.1.0"


def test_help_lists_commands(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("template", "values", "run", "version"):
        assert command in result.stdout


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; sys.argv = ['sparkhelm', '--help']\n"
        "from sparkhelm import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'pyhelm3', 'helm_python', 'jsonschema', 'yaml'})\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "100"})
    assert "HEAVY=\n" in result.stderr or result.stderr.strip().endswith("HEAVY="), result.stderr


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed entry point, in a real process: output on stdout, errors on stderr, exit codes."""
    exe = Path(sys.executable).parent / "sparkhelm"
    ok = subprocess.run([exe, "template", "-f", VALUES_DIR / "scala-pi.yaml", "--name", "scala-pi"], capture_output=True, text=True)
    assert ok.returncode == 0 and "kind: Pod" in ok.stdout and ok.stderr == ""
    bad = subprocess.run([exe, "template", "-f", tmp_path / "missing.yaml"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
