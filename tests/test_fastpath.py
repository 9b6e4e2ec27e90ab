"""`sparkhelm template` without Typer (fastpath.py) must be indistinguishable from Typer's command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from sparkhelm import fastpath, flags
from sparkhelm.cli import app, app_for
from tests.conftest import CHART, PI, VALUES_DIR, write_values

PROD = str(VALUES_DIR / "prod.yaml")
OK = ["--set", f"app.mainApplicationFile={PI}"]

# Command lines the fast path takes: its output and errors must be Typer's, byte for byte.
TAKEN = {
    "prod": ["-f", PROD, "--name", "fast-1", "-n", "spark-jobs"],
    "equals-forms": [f"--values={PROD}", "--name=fast-2", "--namespace=ns"],
    "short-glued": [f"-f{PROD}", "--name", "fast-3"],
    "layers-and-sets": ["-f", str(VALUES_DIR / "dev.yaml"), "-f", str(VALUES_DIR / "pyspark-pi.yaml"),
                        "--set", "executor.instances=4", "--set-string", "app.arguments[0]=7", "--name", "fast-4"],
    "repeated-single-option": ["-f", PROD, "--name", "first", "--name", "fast-5", "-n", "a", "-n", "b"],
    "engine-and-chart": [*OK, "--name", "fast-6", "--engine", "embedded", "--chart", str(CHART)],
    "stdin-dash-value": [*OK, "--name", "fast-7", "-f", "-"],
    "bad-value": [*OK, "--set", "executor.memory=lots", "--name", "fast-8"],
    "missing-file": ["-f", "/nonexistent/values.yaml", "--name", "fast-9"],
    "bad-name": [*OK, "--name", "Not_A_Name"],
    "bad-namespace": [*OK, "--name", "fast-10", "-n", "Bad_NS"],
    "bad-engine": [*OK, "--name", "fast-11", "--engine", "docker"],
    "bad-chart": [*OK, "--name", "fast-12", "--chart", "/nonexistent"],
    "credential": [*OK, "--name", "fast-13", "--set", "sparkConf.spark\\.hadoop\\.fs\\.s3a\\.secret\\.key=abc"],
    "empty-main-file": ["--name", "fast-14", "--set", "app.mainApplicationFile="],
}
# Command lines it leaves to Typer, which explains them.
LEFT = {
    "help": ["--help"],
    "short-help": ["-f", PROD, "-h"],
    "unknown-flag": ["--bogus"],
    "missing-value": ["--name"],
    "value-looks-like-a-flag": ["--name", "--set"],
    "positional": ["extra"],
    "unknown-equals": ["--nope=1"],
    "double-dash": ["--", "-f"],
}


def fast(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | None, str, str]:
    code = fastpath.template(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def typer_run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["template", *args], input="")
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("case", TAKEN, ids=list(TAKEN))
def test_the_fast_path_gives_typers_output_and_errors(case: str, capsys, monkeypatch) -> None:
    args = TAKEN[case]
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO(""))
    code, out, err = fast(args, capsys)
    assert code is not None, "the fast path must take this command line"
    assert (code, out, err) == typer_run(args)
    assert (code == 0) == (case in {"prod", "equals-forms", "short-glued", "layers-and-sets",
                                    "repeated-single-option", "engine-and-chart", "stdin-dash-value"})
    if code:
        assert err.startswith("sparkhelm: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("case", LEFT, ids=list(LEFT))
def test_what_it_does_not_understand_goes_to_typer(case: str, capsys) -> None:
    assert fast(LEFT[case], capsys) == (None, "", "")


def test_environment_defaults_like_click(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPARKHELM_CHART", str(CHART))
    monkeypatch.setenv("SPARKHELM_ENGINE", "docker")
    args = [*OK, "--name", "fast-env"]
    assert fast(args, capsys) == typer_run(args) and typer_run(args)[0] == 2
    assert fast([*args, "--engine", "embedded"], capsys) == typer_run([*args, "--engine", "embedded"])
    monkeypatch.setenv("SPARKHELM_ENGINE", "")
    assert fast(args, capsys)[0] is None  # an empty variable: Typer's reading applies


def test_the_declarations_are_typers_command() -> None:
    """flags.TEMPLATE and the Typer command agree on every option: names, repeatable, env var, default."""
    group = get_command(app_for(["template"]))
    command = group.commands["template"]  # type: ignore[attr-defined]
    options = {p.name: p for p in command.params if p.name != "help"}
    assert set(options) == set(flags.TEMPLATE)
    for key, (flag, default) in flags.TEMPLATE.items():
        option = options[key]
        assert sorted(option.opts + option.secondary_opts) == sorted(flag.names), key
        assert (option.multiple, option.envvar, option.default) == (flag.multiple, flag.envvar, default), key


def test_the_console_script_renders_template_without_importing_typer(tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom sparkhelm import launch\n"
        f"sys.argv = ['sparkhelm', 'template', '-f', {PROD!r}, '--name', 'no-typer']\n"
        "try:\n    launch.main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('CODE', code, 'TYPER', 'typer' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ.copy())
    assert "kind: Pod" in done.stdout and done.stderr.strip().endswith("CODE 0 TYPER False"), done.stderr
    values = write_values(tmp_path, {"executor": {"memory": "lots"}})
    bad = subprocess.run([str(Path(sys.executable).parent / "sparkhelm"), "template", "-f", str(values)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1
