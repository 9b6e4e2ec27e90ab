"""What every benchmark shares: paths, the real binaries, process environments, alternated timing, peak memory.

Timing uses the standard library only (`time.perf_counter` around whole processes, run A B A B ...
so that a slow minute of a shared machine slows both sides alike); peak memory is GNU time's
(`/usr/bin/time -f %M`: the peak RSS of the process it runs), checked against a sample of the
whole process tree read from /proc, so a helper process would not go unseen.
"""

from __future__ import annotations

import atexit
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "spark-client-app"
VALUES = ROOT / "values"
PROD = VALUES / "prod.yaml"
PYTHON = sys.executable
SPARKHELM = str(Path(sys.executable).parent / "sparkhelm")
GNU_TIME = "/usr/bin/time"

#: The real binaries under $SPARKHELM_TOOLS, as scripts/fetch_tools.py lays them out (CI: .tools/).
TOOLS = {"helm4": "helm4/helm", "helm3": "helm3/helm", "kubectl": "kubectl37/kubectl"}


class SetupError(Exception):
    """The suite cannot run here (a binary is missing): reported in one line, exit code 2."""


def tools() -> dict[str, str]:
    """Paths of helm 4.3, helm 3.17 and kubectl 1.37, from $SPARKHELM_TOOLS (else ./.tools where CI fetches them)."""
    root = os.environ.get("SPARKHELM_TOOLS") or str(ROOT / ".tools")
    found = {name: Path(root) / relative for name, relative in TOOLS.items()}
    missing = [str(path) for path in found.values() if not (path.is_file() and os.access(path, os.X_OK))]
    if missing:
        raise SetupError(
            f"missing {', '.join(missing)}: set SPARKHELM_TOOLS to the folder of scripts/fetch_tools.py "
            "(e.g. .venv/bin/python scripts/fetch_tools.py .tools)"
        )
    if not Path(GNU_TIME).is_file():
        raise SetupError(f"missing {GNU_TIME} (GNU time; Debian package 'time'): it measures peak memory")
    return {name: str(path) for name, path in found.items()}


def tool_versions(found: Mapping[str, str]) -> str:
    """The binaries' own version strings, for RESULTS.md."""
    helm = [run([found[name], "version", "--short"], base_env()).strip() for name in ("helm4", "helm3")]
    kubectl = run([found["kubectl"], "version", "--client"], base_env()).splitlines()[0].split(":")[-1].strip()
    return f"Helm {helm[0]}, Helm {helm[1]} and kubectl {kubectl}"


def base_env(**extra: str) -> dict[str, str]:
    """The environment of every measured process.

    Without PYTHONDONTWRITEBYTECODE (with it, every Python start compiles sparkhelm's sources again),
    without the machine's Helm and Kubernetes settings, with the embedded engine (a helm on PATH
    would otherwise be chosen).
    """
    env = {
        key: value for key, value in os.environ.items()
        if key != "PYTHONDONTWRITEBYTECODE" and not key.startswith(("HELM_", "KUBE", "SPARKHELM_"))
    }
    env["SPARKHELM_ENGINE"] = "embedded"
    env.update(extra)
    return env


def tool_env(home: Path, kubeconfig: Path | None = None) -> dict[str, str]:
    """The environment of a real helm or kubectl: its own HOME and Helm folders, reused across runs.

    Reused so that kubectl's discovery cache is warm after the first run, as it is on a user's machine.
    """
    env = base_env(HOME=str(home), HELM_CACHE_HOME=str(home / "helm-cache"),
                   HELM_CONFIG_HOME=str(home / "helm-config"), HELM_DATA_HOME=str(home / "helm-data"), NO_COLOR="1")
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return env


def scratch() -> Path:
    """A new temporary folder, removed when the suite's process exits."""
    path = Path(tempfile.mkdtemp(prefix="sparkhelm-bench-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def compile_sources() -> None:
    """Write sparkhelm's bytecode once, so no measured start compiles it (see `base_env`)."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "sparkhelm")], check=True, env=base_env())


def run(argv: Sequence[str], env: Mapping[str, str], *, stdin: str | None = None) -> str:
    """Run a command to completion; its stdout, or RuntimeError with its stderr when it fails."""
    done = subprocess.run(list(argv), env=dict(env), input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def wall(argv: Sequence[str], env: Mapping[str, str]) -> float:
    """Wall seconds of one run of a command (output discarded, as when piped to a file)."""
    start = time.perf_counter()
    done = subprocess.run(list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return seconds


def alternate(steps: Mapping[str, Callable[[], float]], rounds: int, *, warmup: bool = True) -> dict[str, list[float]]:
    """Each step once per round, in order (A B C A B C ...), after one unmeasured warm-up round.

    A step returns its own measurement (so it may time only part of what it does).
    """
    if warmup:
        for step in steps.values():
            step()
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            samples[name].append(step())
    return samples


def median(values: Sequence[float]) -> float:
    """The median (statistics.median, named for the reader)."""
    return statistics.median(values)


def spread(values: Sequence[float], scale: float = 1000.0, unit: str = "ms") -> str:
    """`median (min-max, n runs)` in a unit, for the detail column."""
    return (f"{median(values) * scale:.0f} {unit} (min {min(values) * scale:.0f}, max {max(values) * scale:.0f}, "
            f"{len(values)} runs)")


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far (RUSAGE_CHILDREN)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Memory:
    """Peak memory of one command: GNU time's peak RSS and the sampled peak of the whole process tree."""

    peak_kib: int
    tree_kib: int
    processes: int

    @property
    def mib(self) -> float:
        """The larger of the two peaks, in MiB: what the row compares."""
        return max(self.peak_kib, self.tree_kib) / 1024


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc/PID/task/*/children."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue.extend(int(child) for child in handle.read().split())
        except OSError:
            continue  # it ended meanwhile
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def peak_memory(argv: Sequence[str], env: Mapping[str, str], *, interval: float = 0.002) -> Memory:
    """Peak memory of a command run under GNU time, the tree sampled every `interval` seconds meanwhile.

    GNU time reports the peak RSS of the process it starts (wait4's ru_maxrss, the largest process of
    the tree). The sample sums the RSS of every process of the tree (GNU time itself excluded), so a
    tool that spawns helpers shows it; `processes` counts the distinct processes the sample saw.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        process = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", report.name, *argv], env=dict(env),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen: set[int] = set()
        top = 0

        def sample() -> None:
            nonlocal top
            while process.poll() is None:
                pids = [p for p in _tree(process.pid) if p != process.pid]
                seen.update(pids)
                top = max(top, sum(_rss_kib(p) for p in pids))
                time.sleep(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        sampler.join()
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} ... exited {process.returncode}: {stderr.decode()[-500:]}")
        peak = int(report.read().split()[-1])
    return Memory(peak_kib=peak, tree_kib=top, processes=len(seen))


def on_threads(jobs: int, clients: int, work: Callable[[], str | None]) -> tuple[list[float], list[str]]:
    """Do `work` `jobs` times from `clients` threads, each taking the next job when it finishes one.

    Returns each job's latency and the errors `work` returned (None: it succeeded).
    """
    left, lock = jobs, threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def client() -> None:
        nonlocal left
        while True:
            with lock:
                if left == 0:
                    return
                left -= 1
            began = time.perf_counter()
            error = work()
            latencies.append(time.perf_counter() - began)
            if error is not None:
                errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors
