"""Whole-process benchmarks: --help cold start, `template` against a bare SDK render, peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.report import Result, median, timed

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SPARKHELM = str(BIN / "sparkhelm")
PROD = str(ROOT / "values" / "prod.yaml")
HEAVY = ("kubernetes", "pyhelm3", "helm_python")
APP, NAMESPACE = "bench-app", "spark-jobs"
ENV = {**os.environ, "SPARKHELM_ENGINE": "embedded"}


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)


def heavy_imports_on_help() -> list[str]:
    """The heavy modules that `sparkhelm --help` imports (none is the budget)."""
    probe = (
        "import sys\nfrom sparkhelm.launch import main\nsys.argv = ['sparkhelm', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=ENV)
    return [m for m in done.stderr.strip().splitlines()[-1].split(",") if m] if done.stderr.strip() else []


def help_cold_start(repeat: int) -> list[Result]:
    """Median wall time of `sparkhelm --help` as a new process (after one warm-up run)."""
    _run([SPARKHELM, "--help"])
    times = timed(lambda: _run([SPARKHELM, "--help"]), repeat)
    heavy = heavy_imports_on_help()
    return [Result("`sparkhelm --help`, median cold start", median(times), "s", 0.20,
                   f"{repeat} runs, min {min(times):.3f} s; heavy modules imported: {', '.join(heavy) or 'none'}")]


def template_against_bare(repeat: int) -> list[Result]:
    """`sparkhelm template -f values/prod.yaml` and a bare SDK render of the same values, alternated."""
    from sparkhelm import api

    values = api.compute_values(api.Inputs(values_files=[PROD], name=APP)).values
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(values, handle)
    chart = str(ROOT / "charts" / "spark-client-app")
    ours = [SPARKHELM, "template", "-f", PROD, "--name", APP, "-n", NAMESPACE]
    bare = [sys.executable, str(Path(__file__).parent / "bare_render.py"), chart, handle.name, APP, NAMESPACE]
    tuned = ["env", "GOGC=400", *bare]  # what sparkhelm does to its embedded Go runtime (goruntime.py)
    for argv in (ours, bare, tuned):
        _run(argv)
    ours_times, bare_times, tuned_times = [], [], []
    for _ in range(repeat):
        ours_times += timed(lambda: _run(ours), 1)
        bare_times += timed(lambda: _run(bare), 1)
        tuned_times += timed(lambda: _run(tuned), 1)
    os.unlink(handle.name)
    ratio = median(ours_times) / median(bare_times)
    return [
        Result("`sparkhelm template -f values/prod.yaml`, median", median(ours_times), "s", None,
               f"{repeat} runs alternated with the bare renders"),
        Result("bare SDK render process (benchmarks/bare_render.py), median", median(bare_times), "s", None,
               "imports helm_python, loads the chart, renders the same values; Go defaults"),
        Result("`template` / bare render", ratio, "x", 1.5, "ratio of the medians, measured side by side"),
        Result("reference: bare render process with GOGC=400", median(tuned_times), "s", None,
               "the Go setting sparkhelm uses; `template` / this = "
               f"{median(ours_times) / median(tuned_times):.2f}x"),
    ]


#: Spawns the measured command and prints its ru_maxrss (KiB): run from a small interpreter, because
#: a child's ru_maxrss also counts the memory of the process it was forked or vforked from.
_RSS_PROBE = (
    "import os, sys\n"
    "devnull = os.open(os.devnull, os.O_WRONLY)\n"
    "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def peak_rss_mib(argv: list[str]) -> float:
    """Peak resident memory of one process (wait4's ru_maxrss), in MiB."""
    probe = [sys.executable, "-c", _RSS_PROBE, *argv]
    done = subprocess.run(probe, capture_output=True, text=True, check=True, env=ENV)
    code, kib = done.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")
    return int(kib) / 1024


def memory(repeat: int) -> list[Result]:
    """Peak RSS of `template` and of `run --dry-run` (reported; no budget)."""
    out = []
    for label, argv in (
        ("`sparkhelm template -f values/prod.yaml`", [SPARKHELM, "template", "-f", PROD, "--name", APP]),
        ("`sparkhelm run -f values/prod.yaml --dry-run`", [SPARKHELM, "run", "-f", PROD, "--name", APP, "--dry-run"]),
    ):
        peaks = [peak_rss_mib(argv) for _ in range(repeat)]
        out.append(Result(f"{label}, peak RSS", max(peaks), "MiB", None, f"max of {repeat} runs (wait4 ru_maxrss)"))
    return out
