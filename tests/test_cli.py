"""The CLI as users call it: commands, outputs, exit codes, start-up imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_a_command_runs_alone_with_the_same_help_and_errors() -> None:
    """`main` builds only the command on the command line; users must not see a difference."""
    from typer.testing import CliRunner

    from sparkhelm.cli import app, app_for

    runner = CliRunner()
    names = [c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands]
    assert len(names) == 12
    for name in names:
        single = app_for([name, "--help"])
        assert single is not app and [c.callback for c in single.registered_commands] == [
            c.callback for c in app.registered_commands if (c.name or c.callback.__name__.replace("_", "-")) == name
        ]
        alone, whole = runner.invoke(single, [name, "--help"]), runner.invoke(app, [name, "--help"])
        assert (alone.exit_code, alone.stdout) == (whole.exit_code, whole.stdout) and f"sparkhelm {name}" in alone.stdout
        alone, whole = runner.invoke(single, [name, "--no-such-flag"]), runner.invoke(app, [name, "--no-such-flag"])
        assert (alone.exit_code, alone.stderr) == (whole.exit_code, whole.stderr) == (2, alone.stderr)
    for argv in ([], ["--help"], ["--version"], ["templat"], ["-n", "x", "template"]):
        assert app_for(argv) is app
    typo = CliRunner().invoke(app_for(["templat"]), ["templat"])
    assert typo.exit_code == 2 and "templat" in typo.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; sys.argv = ['sparkhelm', '--help']\n"
        "from sparkhelm import launch\n"
        "try:\n    launch.main()\nexcept SystemExit:\n    pass\n"
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


def test_engine_load_starts_early_only_for_commands_that_render(monkeypatch) -> None:
    from sparkhelm import launch

    monkeypatch.delenv("SPARKHELM_ENGINE", raising=False)
    assert launch.engine_to_preload(["template", "-f", "x.yaml"]) == "auto"
    assert launch.engine_to_preload(["run", "--engine=embedded"]) == "embedded"
    for argv in ([], ["--help"], ["list"], ["values", "-f", "x"], ["template", "--help"], ["run", "-h"],
                 ["template", "--engine", "helm"], ["templat"]):
        assert launch.engine_to_preload(argv) is None, argv
    monkeypatch.setenv("SPARKHELM_ENGINE", "embedded")
    assert launch.engine_to_preload(["delete", "app"]) == "embedded"


@pytest.mark.parametrize(("choice", "helm_on_path", "loaded"), [
    ("auto", False, True), ("auto", True, False), ("embedded", True, True),
])
def test_the_early_load_leaves_a_helm_binary_to_auto(tmp_path: Path, choice: str, helm_on_path: bool,
                                                      loaded: bool) -> None:
    if helm_on_path:
        fake = tmp_path / "helm"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
    code = f"import sys; from sparkhelm import launch; launch._preload({choice!r}); print('helm_python' in sys.modules)"
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(loaded)


def test_python_dash_m_and_the_console_script_run_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "sparkhelm", "template", "--no-such-flag"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("sparkhelm: error:") and "--no-such-flag" in result.stderr


def test_shell_completion_through_the_console_script() -> None:
    """Typer's completion protocol, as the script `--install-completion` writes calls it."""
    exe = str(Path(sys.executable).parent / "sparkhelm")

    def complete(words: str, cword: int) -> list[str]:
        env = {**os.environ, "_SPARKHELM_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
        done = subprocess.run([exe], env=env, capture_output=True, text=True, check=True)
        return done.stdout.split()

    assert complete("sparkhelm tem", 1) == ["template"]
    assert complete("sparkhelm ex", 1) == ["explain"]
    assert complete("sparkhelm template --na", 2) == ["--name", "--namespace"]
    # The installers detect the user's shell from the parent processes, so only their presence is checked here.
    shown = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--install-completion" in shown and "--show-completion" in shown
