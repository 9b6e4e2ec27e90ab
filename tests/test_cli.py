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
    assert "namespace: spark-jobs (-n/--namespace)" in lines and "engine: embedded" in lines
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


def test_bare_sparkhelm_prints_its_help_like_kubectl_and_helm(cli) -> None:
    """Outside use found the whole help printed as one 1,226-character "error" line."""
    result = cli()
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: sparkhelm") and "commands:" in result.stdout
    assert result.stdout.count("\n") > 10


def test_usage_errors_name_the_command(cli) -> None:
    for argv, needle in ((["template", "--bogus"], "sparkhelm template: unrecognized arguments: --bogus"),
                         (["run", "--timeout"], "sparkhelm run: argument --timeout: expected one argument"),
                         (["templat"], "invalid choice: 'templat'"),
                         (["explain", "-o", "xml"], "argument -o/--output: invalid choice: 'xml'")):
        result = cli(*argv)
        assert result.exit_code == 2 and result.stdout == "", argv
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("sparkhelm: error: ") and needle in result.stderr


def test_every_command_has_help() -> None:
    from sparkhelm.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(commands) == {"template", "values", "explain", "init", "run", "list", "status", "logs", "delete",
                             "gc", "ui", "connect", "version", "completion"}
    for name, sub in commands.items():
        text = sub.format_help()
        assert text.startswith(f"usage: sparkhelm {name}") and all(action.help for action in sub._actions), name


HEAVY = {"kubernetes", "pyhelm3", "helm_python", "jsonschema", "jsonschema_rs", "yaml", "typer", "click", "rich",
         "http", "ssl", "ruamel", "argcomplete"}


def _imported(argv: list[str]) -> set[str]:
    code = (
        f"import sys\nfrom sparkhelm.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print('MODULES=' + ','.join(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "SPARKHELM_ENGINE": "helm", "PATH": "/nonexistent"})
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES="))
    return set(line.removeprefix("MODULES=").split(","))


def test_help_and_version_import_nothing_heavy() -> None:
    for argv in ([], ["--help"], ["run", "--help"], ["--version"], ["list", "--help"]):
        assert not _imported(argv) & HEAVY, argv


def test_template_imports_neither_a_kubernetes_client_nor_a_terminal_library(tmp_path: Path) -> None:
    loaded = _imported(["template", "-f", str(VALUES_DIR / "prod.yaml"), "--name", "x", "--engine", "embedded"])
    assert "helm_python" in loaded and not loaded & {"kubernetes", "http", "ssl", "pyhelm3", "rich", "typer"}


def test_console_script_end_to_end(tmp_path: Path) -> None:
    """The installed entry point, in a real process: output on stdout, errors on stderr, exit codes."""
    exe = Path(sys.executable).parent / "sparkhelm"
    ok = subprocess.run([exe, "template", "-f", VALUES_DIR / "scala-pi.yaml", "--name", "scala-pi"], capture_output=True, text=True)
    assert ok.returncode == 0 and "kind: Pod" in ok.stdout and ok.stderr == ""
    bad = subprocess.run([exe, "template", "-f", tmp_path / "missing.yaml"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1


def test_engine_load_starts_early_only_for_commands_that_render(monkeypatch) -> None:
    import threading

    from sparkhelm import cli

    started: list[str] = []
    monkeypatch.setattr(threading, "Thread", lambda target, args, name: type("T", (), {"start": lambda self: started.append(args[0])})())
    monkeypatch.delenv("SPARKHELM_ENGINE", raising=False)
    for argv, expected in ((["template", "-f", "x.yaml"], ["auto"]), (["run", "--engine=embedded"], ["embedded"]),
                           (["values", "-f", "x"], ["auto"]), ([], []), (["--help"], []), (["list"], []),
                           (["template", "--help"], []), (["run", "-h"], []), (["template", "--engine", "helm"], []),
                           (["templat"], [])):
        started.clear()
        cli._start_preload(argv)
        assert started == expected, argv
    monkeypatch.setenv("SPARKHELM_ENGINE", "embedded")
    for argv, expected in ((["explain"], ["embedded"]), (["delete", "app"], []), (["gc", "--dry-run"], [])):
        started.clear()
        cli._start_preload(argv)
        assert started == expected, argv  # delete and gc uninstall without the Helm SDK


def test_delete_and_gc_never_load_the_helm_sdk(cluster, tmp_path: Path) -> None:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "SPARKHELM_ENGINE": "embedded"}
    assert subprocess.run([Path(sys.executable).parent / "sparkhelm", "run", "--name", "nosdk"], env=env,
                          capture_output=True, text=True).returncode == 0
    code = ("import sys\nfrom sparkhelm.cli import main\n"
            "codes = [main(['delete', 'nosdk']), main(['gc', '--older-than', '0s'])]\n"
            "print('LOADED' if 'helm_python' in sys.modules else 'CLEAN', codes, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "CLEAN [0, 0]", done.stderr


@pytest.mark.parametrize(("choice", "helm_on_path", "loaded"), [
    ("auto", False, True), ("auto", True, False), ("embedded", True, True),
])
def test_the_early_load_leaves_a_helm_binary_to_auto(tmp_path: Path, choice: str, helm_on_path: bool,
                                                      loaded: bool) -> None:
    if helm_on_path:
        fake = tmp_path / "helm"
        fake.write_text("#!/bin/sh\nexit 0\n")
        fake.chmod(0o755)
    code = f"import sys; from sparkhelm import cli; cli._preload({choice!r}); print('helm_python' in sys.modules)"
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(loaded)


def test_python_dash_m_and_the_console_script_run_the_same_cli() -> None:
    result = subprocess.run([sys.executable, "-m", "sparkhelm", "template", "--no-such-flag"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("sparkhelm: error:") and "--no-such-flag" in result.stderr


def test_shell_completion_through_the_console_script(tmp_path: Path) -> None:
    """argcomplete's protocol, as the code `sparkhelm completion bash` prints calls it."""
    exe = str(Path(sys.executable).parent / "sparkhelm")
    out = tmp_path / "completions"

    def complete(line: str) -> list[str]:
        env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
               "_ARGCOMPLETE_IFS": "\n", "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}
        subprocess.run([exe], env=env, capture_output=True, text=True, check=True)
        return sorted(word.strip() for word in out.read_text().splitlines() if word.strip())

    assert complete("sparkhelm tem") == ["template"]
    assert complete("sparkhelm ex") == ["explain"]
    assert complete("sparkhelm template --na") == ["--name", "--namespace"]
    script = subprocess.run([exe, "completion", "bash"], capture_output=True, text=True, check=True).stdout
    assert "complete " in script and "sparkhelm" in script and "_ARGCOMPLETE" in script
