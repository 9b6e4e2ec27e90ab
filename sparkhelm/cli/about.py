"""`sparkhelm version` and `sparkhelm completion`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sparkhelm.cli import parser as flags


def version(args: argparse.Namespace) -> None:
    """Print the versions of sparkhelm, the chart and Spark."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    from sparkhelm import __version__
    from sparkhelm.chart.files import chart_metadata, resolve_chart_dir

    meta = chart_metadata(resolve_chart_dir(args.chart))
    try:
        sdk = package_version("helm-python-sdk")
    except PackageNotFoundError:
        sdk = "not installed"
    flags.echo(f"sparkhelm {__version__}")
    flags.echo(f"chart {meta['name']} {meta['version']} (Spark {meta.get('appVersion', '?')})")
    flags.echo(f"embedded engine: helm-python-sdk {sdk}")


def completion(args: argparse.Namespace) -> None:
    """Print the shell code that completes sparkhelm's commands and flags (argcomplete)."""
    from argcomplete.shell_integration import shellcode

    sys.stdout.write(shellcode(["sparkhelm"], shell=args.shell))


def register(subparsers: Any) -> None:
    """Add the commands of this module."""
    p = flags.command(subparsers, "version", "Print the versions of sparkhelm, the chart and Spark.")
    flags.add_chart_flag(p)
    p.set_defaults(handler=version)

    p = flags.command(
        subparsers,
        "completion",
        'Print shell completion code: eval "$(sparkhelm completion bash)".',
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish", "tcsh"), help="The shell.")
    p.set_defaults(handler=completion)
