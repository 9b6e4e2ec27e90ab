"""The baseline of the template budget: a bare Python process that renders the chart with Helm's SDK.

Run: python benchmarks/bare_render.py CHART_DIR VALUES_JSON RELEASE NAMESPACE
It does the least any tool must do: import the embedded Helm SDK, load the chart, render it with
the given (already computed) values, and print the manifests. `sparkhelm template` is measured
against this process, side by side.
"""

import json
import sys

import helm_python


def main() -> None:
    """Render and print, like `helm template` minus everything else."""
    chart_dir, values_path, release, namespace = sys.argv[1:5]
    with open(values_path) as handle:
        values = json.load(handle)
    chart = helm_python.Chart.load(chart_dir)
    rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
    sys.stdout.write("".join(f"---\n# Source: {name}\n{text}\n" for name, text in sorted(rendered.items())))


if __name__ == "__main__":
    main()
