"""Goal 1: `template` and `--help` side by side with Helm 4.3 and 3.17, the floor, and where the time goes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import yaml

from benchmarks.common import (
    CHART,
    PROD,
    PYTHON,
    ROOT,
    SPARKHELM,
    alternate,
    base_env,
    median,
    run,
    scratch,
    spread,
    wall,
)
from benchmarks.report import Part, Row

APP, NAMESPACE = "bench-app", "spark-jobs"

#: The least any Python tool built on the embedded SDK must do: import it, load the chart, render, print.
FLOOR = """\
import json, sys
import helm_python
chart_dir, values_path, name, namespace = sys.argv[1:5]
with open(values_path) as handle:
    values = json.load(handle)
rendered = helm_python.Chart.load(chart_dir).render(values, name=name, namespace=namespace, is_install=True)
sys.stdout.write("".join(f"---\\n# Source: {k}\\n{v}\\n" for k, v in sorted(rendered.items())
                         if v.strip() and not k.endswith("NOTES.txt")))
"""


def _objects(text: str) -> list[object]:
    """The rendered objects, comparable: the RPC Secret's data left out.

    sparkhelm generates a secret at each run; Helm renders the one `sparkhelm values` generated earlier.
    """
    objects = [o for o in yaml.safe_load_all(text) if o]
    for obj in objects:
        if obj.get("kind") == "Secret" and str(obj["metadata"]["name"]).endswith("-rpc-secret"):
            obj.pop("data", None)
            obj.pop("stringData", None)
    return sorted((json.dumps(o, sort_keys=True) for o in objects), key=str)


def _same_render(ours: list[str], theirs: list[str], env: dict[str, str]) -> None:
    """Refuse to compare unless both commands print the same objects (same values, same work)."""
    if _objects(run(ours, env)) != _objects(run(theirs, env)):
        raise RuntimeError(f"{theirs[0]} renders other objects than `sparkhelm template`: not the same values")


def measure(tools: dict[str, str], rounds: int, anatomy_rounds: int) -> Part:
    """Rows 1: template and --help against both Helms, the floor; the anatomy section."""
    env = base_env()
    work = scratch()
    computed = yaml.safe_load(run([SPARKHELM, "values", "-f", str(PROD), "--name", APP], env))
    values_yaml, values_json = work / "computed.yaml", work / "computed.json"
    values_yaml.write_text(yaml.safe_dump(computed))
    values_json.write_text(json.dumps(computed))
    helm_env = {**env, "HOME": str(work), "HELM_CACHE_HOME": str(work / "c"), "HELM_CONFIG_HOME": str(work / "f"),
                "HELM_DATA_HOME": str(work / "d")}

    ours = [SPARKHELM, "template", "-f", str(PROD), "--name", APP, "-n", NAMESPACE]
    helm = {
        version: [tools[version], "template", APP, str(CHART), "-f", str(values_yaml), "-n", NAMESPACE]
        for version in ("helm4", "helm3")
    }
    floor = [PYTHON, "-c", FLOOR, str(CHART), str(values_json), APP, NAMESPACE]
    for argv in (*helm.values(), floor):
        _same_render(ours, argv, helm_env)

    templates = alternate({
        "sparkhelm": lambda: wall(ours, env),
        "helm4": lambda: wall(helm["helm4"], helm_env),
        "helm3": lambda: wall(helm["helm3"], helm_env),
        "floor": lambda: wall(floor, env),
    }, rounds)
    helps = alternate({
        "sparkhelm": lambda: wall([SPARKHELM, "--help"], env),
        "helm4": lambda: wall([tools["helm4"], "--help"], helm_env),
        "helm3": lambda: wall([tools["helm3"], "--help"], helm_env),
    }, rounds)

    part = Part()
    label = {"helm4": "Helm 4.3", "helm3": "Helm 3.17"}
    for version in ("helm4", "helm3"):
        ratio = median(templates["sparkhelm"]) / median(templates[version])
        part.rows.append(Row(
            "1", f"`sparkhelm template -f values/prod.yaml` / `helm template` ({label[version]}), same values",
            ratio, "x", 1.4,
            f"sparkhelm {spread(templates['sparkhelm'])}; helm {spread(templates[version])}",
        ))
    for version in ("helm4", "helm3"):
        ratio = median(helps["sparkhelm"]) / median(helps[version])
        part.rows.append(Row(
            "1", f"`sparkhelm --help` / `helm --help` ({label[version]})", ratio, "x", 1.5,
            f"sparkhelm {spread(helps['sparkhelm'])}; helm {spread(helps[version])}",
        ))
    for version in ("helm4", "helm3"):
        ratio = median(templates["floor"]) / median(templates[version])
        part.rows.append(Row(
            "1", f"floor: bare `python -c \"import helm_python; load; render\"` / `helm template` ({label[version]})",
            ratio, "x", 1.4,
            f"bare {spread(templates['floor'])}; helm {spread(templates[version])}; the template budget applied "
            "to the least a Python process on this SDK can do",
        ))
    part.facts.update(
        template_ratio_helm4=part.rows[0].value, template_ratio_helm3=part.rows[1].value,
        help_ratio_helm4=part.rows[2].value, help_ratio_helm3=part.rows[3].value,
        floor_ratio_helm4=part.rows[4].value, template_ms=median(templates["sparkhelm"]) * 1000,
    )
    part.sections["Where the time of `template` goes"] = _anatomy(tools, anatomy_rounds, templates, helm_env)
    return part


def _anatomy(tools: dict[str, str], rounds: int, templates: dict[str, list[float]], helm_env: dict[str, str]) -> str:
    """The anatomy probe, `python -c pass` and `helm version` alternated; a table of medians per step."""
    env = base_env()
    probe = [PYTHON, str(Path(__file__).with_name("anatomy.py")), str(PROD), APP, NAMESPACE]
    reports: list[dict[str, dict[str, float]]] = []

    def one_probe() -> float:
        began = time.perf_counter()
        done = subprocess.run(probe, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, check=True)
        seconds = time.perf_counter() - began
        reports.append(json.loads(done.stderr.strip().splitlines()[-1]))
        return seconds

    samples = alternate({
        "probe": one_probe,
        "python": lambda: wall([PYTHON, "-c", "pass"], env),
        "helm4 version": lambda: wall([tools["helm4"], "version", "--short"], helm_env),
    }, rounds)
    reports = reports[1:]  # the warm-up round
    steps = {name: median([r["steps"][name] for r in reports]) for name in reports[0]["steps"]}
    extra = {name: median([r["extra"][name] for r in reports]) for name in reports[0]["extra"]}
    start = median(samples["python"])
    # the probe's own wall, without the renders it adds after its output to price the schema check
    probe_wall = median([w - r["extra"]["pricing renders"] for w, r in zip(samples["probe"], reports, strict=True)])
    rest = probe_wall - start - sum(steps.values())
    ms = 1000
    lines = [
        f"Medians of {rounds} runs of each, alternated: `benchmarks/anatomy.py` (the steps of `sparkhelm template "
        "-f values/prod.yaml`, one after the other, each timed in-process), `python -c pass` and `helm version`. "
        "All runs without `PYTHONDONTWRITEBYTECODE` and with sparkhelm's bytecode compiled once "
        "(`python -m compileall -q sparkhelm`): with that variable set, as on this machine's shells, every start "
        "compiles sparkhelm's sources again.",
        "",
        "| step | ms |",
        "|---|---:|",
        f"| interpreter start (`python -c pass`, site and .pth files included) | {start * ms:.0f} |",
        *(f"| {name} | {seconds * ms:.1f} |" for name, seconds in steps.items()),
        f"| exit and what the steps do not cover (process wall - start - steps) | {rest * ms:.0f} |",
        f"| **the probe process, one step after the other** | **{probe_wall * ms:.0f}** |",
        f"| `sparkhelm template` as shipped (the SDK loads on a thread while Python imports), same runs as row 1 "
        f"| {median(templates['sparkhelm']) * ms:.0f} |",
        f"| bare floor process (row 1) | {median(templates['floor']) * ms:.0f} |",
        f"| `helm template`, Helm 4.3 / 3.17 (row 1) | {median(templates['helm4']) * ms:.0f} / "
        f"{median(templates['helm3']) * ms:.0f} |",
        f"| `helm version --short` (Helm 4.3: a Go process start, no chart) "
        f"| {median(samples['helm4 version']) * ms:.0f} |",
        "",
        f"Helm's schema check runs twice per `template`: once as sparkhelm's check of the values, and again "
        f"inside the render, because the chart is loaded with its values.schema.json. A warm render costs "
        f"{extra['warm render'] * ms:.1f} ms with the schema and {extra['warm render without the schema'] * ms:.1f} "
        f"ms without it (same process, medians of 5), so the second check costs about "
        f"{(extra['warm render'] - extra['warm render without the schema']) * ms:.0f} ms of every `template` and "
        "`run`.",
        "",
        _reachable(templates, start, steps, extra),
    ]
    return "\n".join(lines)


def _reachable(
    templates: dict[str, list[float]], start: float, steps: dict[str, float], extra: dict[str, float]
) -> str:
    """Is 1.4x of `helm template` within reach of a Python process on this SDK? The figures say."""
    ms = 1000
    helm4, helm3 = median(templates["helm4"]), median(templates["helm3"])
    budget = 1.4 * min(helm4, helm3)
    floor, ours = median(templates["floor"]), median(templates["sparkhelm"])
    sdk = next(seconds for name, seconds in steps.items() if name.startswith("import helm_python"))
    yaml_import = next(seconds for name, seconds in steps.items() if name.startswith("import PyYAML"))
    second_check = extra["warm render"] - extra["warm render without the schema"]
    verdict = (
        f"The floor itself misses it by {(floor - budget) * ms:.0f} ms: no Python process that loads this SDK meets "
        "1.4x on this machine, whatever sparkhelm does; the interpreter and the SDK load alone take "
        f"{(start + sdk) * ms:.0f} ms, {(start + sdk) / budget:.0%} of the budget."
        if floor > budget else
        f"The floor fits, {(budget - floor) * ms:.0f} ms under it, so the budget is within reach of a Python "
        "process on this SDK."
    )
    return (
        f"**Is 1.4x reachable?** 1.4 x `helm template` is {budget * ms:.0f} ms here (1.4 x the faster Helm, "
        f"{min(helm4, helm3) * ms:.0f} ms). The bare floor process takes {floor * ms:.0f} ms. {verdict} "
        f"`sparkhelm template` takes {(ours - floor) * ms:.0f} ms more than the floor; the largest parts of that, "
        f"measured above: PyYAML's import ({yaml_import * ms:.0f} ms; the floor reads JSON), sparkhelm's CLI and "
        "modules, reading and merging the values, and Helm's schema check done twice (the second one "
        f"{second_check * ms:.0f} ms)."
    )
