"""Bad input: exit code 2, one line on stderr naming the key, file or flag, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PI, write_values

OK = ["--set", f"app.mainApplicationFile={PI}"]

# (id, extra CLI args, text the single stderr line must contain)
SET_CASES = [
    ("negative-instances", ["--set", "executor.instances=-1"], "executor.instances"),
    ("memory-garbage", ["--set", "executor.memory=lots"], "executor.memory"),
    ("memory-with-space", ["--set-string", "driver.memory=2 GB"], "driver.memory"),
    ("cores-not-int", ["--set", "driver.cores=abc"], "driver.cores"),
    ("cores-zero", ["--set", "executor.cores=0"], "executor.cores"),
    ("pull-policy-enum", ["--set", "image.pullPolicy=Sometimes"], "image.pullPolicy"),
    ("restart-policy-always", ["--set", "driver.restartPolicy=Always"], "driver.restartPolicy"),
    ("ingress-mode-enum", ["--set", "ui.ingress.mode=subdomain"], "ui.ingress.mode"),
    ("service-type-enum", ["--set", "ui.service.type=LoadBalancer"], "ui.service.type"),
    ("unknown-key-typo", ["--set", "executor.instance=3"], "executor.instance"),
    ("unknown-top-level", ["--set", "excutor.instances=3"], "excutor"),
    ("reserved-driver-port", ["--set", "sparkConf.spark\\.driver\\.port=7100"], "driver.port"),
    ("reserved-prefix", ["--set", "sparkConf.spark\\.kubernetes\\.executor\\.podNamePrefix=x"], "sparkConf.spark.kubernetes.executor.podNamePrefix"),
    ("reserved-master", ["--set", "sparkConf.spark\\.master=local[*]"], "spark.master"),
    ("reserved-proxybase", ["--set", "sparkConf.spark\\.ui\\.proxyBase=/x"], "ui.ingress.path"),
    ("non-spark-conf-key", ["--set", "sparkConf.foo=bar"], "sparkConf"),
    ("host-mode-no-domain", ["--set", "ui.ingress.enabled=true,ui.ingress.mode=host"], "ui.ingress.domain"),
    ("driver-port-privileged", ["--set", "driver.port=80"], "driver.port"),
    ("nodeport-out-of-range", ["--set", "ui.service.type=NodePort,ui.service.nodePort=80"], "ui.service.nodePort"),
    ("bad-ingress-host", ["--set", "ui.ingress.host=Not_A_Host"], "ui.ingress.host"),
    ("bad-priority-class", ["--set", "priorityClassName=Urgent"], "priorityClassName"),
    ("bad-request-cores", ["--set", "executor.requestCores=fast"], "executor.requestCores"),
    ("bad-resource-quantity", ["--set", "driver.resources.requests.memory=lots"], "driver.resources.requests.memory"),
    ("bad-name-override", ["--set", "nameOverride=UPPER"], "nameOverride"),
    ("affinity-twice", ["--set", "driver.nodeAffinity.values={a},driver.affinity.nodeAffinity.x=1"], "driver.nodeAffinity.values"),
    ("bad-name-uppercase", ["--name", "MyApp"], "--name"),
    ("bad-name-too-long", ["--name", "a" * 48], "--name"),
    ("bad-name-leading-digit", ["--name", "1app"], "--name"),
    ("bad-name-trailing-dash", ["--name", "app-"], "--name"),
    ("bad-name-dot", ["--name", "my.app"], "--name"),
    ("set-without-equals", ["--set", "executor.instances"], "--set"),
    ("set-empty-key-segment", ["--set", "executor..instances=1"], "--set"),
    ("bad-engine", ["--engine", "docker"], "--engine"),
    ("bad-chart-dir", ["--chart", "/nonexistent"], "--chart"),
]


def assert_one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sparkhelm: error: "), lines[0]
    assert needle in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize(("case", "args", "needle"), SET_CASES, ids=[c[0] for c in SET_CASES])
@pytest.mark.parametrize("command", ["template", "values", "run"])
def test_bad_flags_and_values(cli, case: str, args: list[str], needle: str, command: str) -> None:
    extra = ["--dry-run"] if command == "run" else []
    if command == "values" and args[0] == "--engine":
        pytest.skip("values renders nothing, so it takes no --engine")
    assert_one_line_error(cli(command, *OK, *args, *extra), needle)


FILE_CASES = [
    ("yaml-syntax", "app:\n  mainApplicationFile: [unclosed\n", "line"),
    ("yaml-tab", "app:\n\tmainApplicationFile: x\n", "YAML syntax error"),
    ("top-level-list", "- a\n- b\n", "top level must be a mapping"),
    ("top-level-scalar", "just a string\n", "top level must be a mapping"),
    ("wrong-type-section", "executor: 3\napp:\n  mainApplicationFile: x.py\n", "executor"),
    ("list-instead-of-map", "app:\n  - mainApplicationFile: x.py\n", "app"),
    ("missing-app-file", "executor:\n  instances: 2\n", "app.mainApplicationFile"),
    ("empty-app-file", "app:\n  mainApplicationFile: ''\n", "app.mainApplicationFile"),
    ("arguments-not-list", f"app:\n  mainApplicationFile: {PI}\n  arguments: '10'\n", "app.arguments"),
    ("packages-not-coordinates", f"app:\n  mainApplicationFile: {PI}\n  packages: [hadoop-aws]\n", "app.packages"),
]


@pytest.mark.parametrize(("case", "text", "needle"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_bad_values_files(cli, tmp_path: Path, case: str, text: str, needle: str) -> None:
    path = write_values(tmp_path, text)
    for command in ("template", "values"):
        result = cli(command, "-f", path)
        assert_one_line_error(result, needle)
    assert str(path) in cli("values", "-f", path).stderr or needle != "line"


def test_missing_values_file(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("template", "-f", tmp_path / "nope.yaml"), "nope.yaml")


def test_directory_as_values_file(cli, tmp_path: Path) -> None:
    assert_one_line_error(cli("values", "-f", tmp_path), "directory")


def test_unreadable_values_file(cli, tmp_path: Path) -> None:
    import os

    path = write_values(tmp_path, {"app": {"mainApplicationFile": PI}})
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user that can read any file (root)")
        assert_one_line_error(cli("values", "-f", path), "permission denied")
    finally:
        path.chmod(0o644)


def test_unknown_flag_is_one_line(cli) -> None:
    assert_one_line_error(cli("template", "--bogus"), "--bogus")


def test_reserved_key_message_says_what_to_set(cli) -> None:
    result = cli("values", *OK, "--set", "sparkConf.spark\\.executor\\.instances=9")
    assert_one_line_error(result, "set executor.instances instead")


def test_bad_input_count() -> None:
    assert len(SET_CASES) + len(FILE_CASES) >= 40
