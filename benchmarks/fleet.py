"""Goal 5: `list` and `gc --dry-run` over a fleet of apps, in a constant number of requests.

One app is installed for real (`sparkhelm run`), then cloned in the emulator (tests/harness/fleet.py):
first to a small fleet, where the requests of each command are counted, then to the full fleet,
where they are counted again (they must not grow), timed side by side with `kubectl get pods -l
spark-role=driver` over the same driver pods, and their peak memory measured.
"""

from __future__ import annotations

import functools
import time
import urllib.request

from benchmarks.common import (
    SPARKHELM,
    VALUES,
    alternate,
    base_env,
    median,
    peak_memory,
    run,
    scratch,
    spread,
    tool_env,
    wall,
)
from benchmarks.emulator import Emulator
from benchmarks.report import Part, Row

NAMESPACE = "bench"
SMALL = 50


def _size(url: str, path: str, accept: str) -> int:
    """Bytes of the emulator's answer to one request (asked again, as the command asked it)."""
    request = urllib.request.Request(url + path, headers={"Accept": accept or "application/json"})
    with urllib.request.urlopen(request, timeout=300) as answer:
        return len(answer.read())


def measure(tools: dict[str, str], apps: int, rounds: int) -> Part:
    """Goal 5 rows and the section on reads at scale."""
    part = Part()
    home = scratch() / "home"
    with Emulator(kubelet="Running") as emu:
        env = base_env(KUBECONFIG=str(emu.kubeconfig))
        kenv = tool_env(home, emu.kubeconfig)
        finished = apps // 10
        run([SPARKHELM, "run", "-f", str(VALUES / "pyspark-pi.yaml"), "--name", "source", "-n", NAMESPACE], env)
        commands = {
            "list": [SPARKHELM, "list", "-n", NAMESPACE],
            "gc --dry-run": [SPARKHELM, "gc", "--dry-run", "--older-than", "2h", "-n", NAMESPACE],
            "kubectl": [tools["kubectl"], "get", "pods", "-n", NAMESPACE, "-l", "spark-role=driver"],
        }

        def requests_of(name: str) -> list[tuple[str, str, str]]:
            before = emu.count()
            run(commands[name], kenv if name == "kubectl" else env)
            return emu.accepts(before)

        for name, argv in commands.items():  # warm-up: kubectl fills its discovery cache
            run(argv, kenv if name == "kubectl" else env)
        small = min(SMALL, apps)
        emu.ask("fleet", "source", 0, small - 1, finished, NAMESPACE)
        few = {name: len(requests_of(name)) for name in commands}
        began = time.perf_counter()
        emu.ask("fleet", "source", small - 1, apps - small, finished, NAMESPACE)
        seeding = time.perf_counter() - began
        listed = run([SPARKHELM, "list", "-n", NAMESPACE, "-o", "json"], env).count('"name"')
        if listed != apps:
            raise RuntimeError(f"the fleet has {listed} apps, not {apps}")
        served = {name: requests_of(name) for name in commands}
        many = {name: len(paths) for name, paths in served.items()}
        sizes = {name: [(path, _size(emu.url, path, accept)) for _, path, accept in paths]
                 for name, paths in served.items()}
        times = alternate({name: functools.partial(wall, argv, kenv if name == "kubectl" else env)
                           for name, argv in commands.items()}, rounds)
        memory = {name: peak_memory(argv, kenv if name == "kubectl" else env).mib for name, argv in commands.items()}
    for name in ("list", "gc --dry-run"):
        part.rows.append(Row(
            "5", f"requests of `sparkhelm {name}` over {apps:,} apps (budget: as over {small}: O(1))",
            many[name], "requests", few[name],
            f"{few[name]} over {small} apps, {many[name]} over {apps:,}; {spread(times[name])}; peak "
            f"{memory[name]:.0f} MiB",
        ))
    part.rows.append(Row(
        "5", f"`sparkhelm list` / `kubectl get pods -l spark-role=driver` over {apps:,} apps (goal 3's budget)",
        median(times["list"]) / median(times["kubectl"]), "x", 2.0,
        f"sparkhelm {spread(times['list'])}, {memory['list']:.0f} MiB; kubectl {spread(times['kubectl'])}, "
        f"{memory['kubectl']:.0f} MiB",
    ))
    part.facts.update(fleet_list_seconds=median(times["list"]), fleet_list_mib=memory["list"],
                      fleet_list_ratio=part.rows[-1].value)
    lines = [
        f"{apps:,} apps in one namespace ({finished:,} of them ended 3 hours ago), cloned from one real install "
        f"in {seeding:.0f} s. Medians of {rounds} alternated runs; peak memory of one run each.",
        "",
        f"| command | requests over {small} apps | over {apps:,} | median | peak memory |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, argv in commands.items():
        shown = " ".join(argv[1:3]) if name != "kubectl" else "kubectl get pods -l spark-role=driver"
        lines.append(f"| `{shown if name == 'kubectl' else 'sparkhelm ' + name}` | {few[name]} | {many[name]} "
                     f"| {median(times[name]) * 1000:.0f} ms | {memory[name]:.0f} MiB |")
    mib = 1024 * 1024
    answered = {
        name: ", ".join(f"`{path.split('?')[0].rsplit('/', 1)[-1]}` {size / mib:.1f} MiB" for path, size in answers)
        for name, answers in sizes.items()
    }
    lines += [
        "",
        f"What the server sends over {apps:,} apps: for `sparkhelm list`, {answered['list']} (whole driver pods, "
        "whose status it shows; the ConfigMaps, read only to find apps whose driver pod is gone, as metadata "
        f"alone: a PartialObjectMetadataList); for `kubectl get pods`, {answered['kubectl']} (a server-side "
        "Table: the printed columns and each pod's metadata).",
        "",
        "The emulator answers a LIST in one response whatever its size. A real API server pages it: sparkhelm "
        "asks for 500 items a page, as kubectl does (`--chunk-size` 500), so over 5,000 apps a real server would "
        "serve 10 pages of driver pods and 10 of ConfigMaps: one request more per 500 apps, as for kubectl, never "
        "one per app.",
    ]
    part.sections["Reads at scale"] = "\n".join(lines)
    return part
