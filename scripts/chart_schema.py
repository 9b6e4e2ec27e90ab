"""Write the `description`s of charts/spark-client-app/values.schema.json from the `# --` comments of values.yaml.

Run: python scripts/chart_schema.py [--check] [--chart DIR]

values.yaml documents every value once; the schema repeats that text so that editors and
`helm show values`-style tools show it, and this script is the only writer of it. The schema's
structure and its `errorMessage`s (the short hints sparkhelm puts in one-line errors; draft-07
validators ignore the keyword) are written by hand. Every `description` in the schema is replaced:
the root one by the first line of values.yaml, each value's by its `# --` text, and any other
is removed. `--check` changes nothing and exits 1 when the schema is stale (tests/test_chart_schema.py
does the same).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from sparkhelm.chart import docs as valuedocs

CHART = Path(__file__).resolve().parent.parent / "charts" / "spark-client-app"

#: Keywords whose value is one subschema, a map of subschemas, or a list of subschemas (draft-07).
_ONE = ("items", "additionalItems", "additionalProperties", "propertyNames", "contains", "not", "if", "then", "else")
_MAP = ("properties", "patternProperties", "definitions", "dependencies")
_LIST = ("allOf", "anyOf", "oneOf", "items")


def _without_descriptions(node: Any) -> Any:
    """A copy of a schema node with every `description` keyword removed (property names are kept)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key in _MAP and isinstance(value, dict):
            out[key] = {name: _without_descriptions(sub) for name, sub in value.items()}
        elif key in _LIST and isinstance(value, list):
            out[key] = [_without_descriptions(sub) for sub in value]
        elif key in _ONE and isinstance(value, dict):
            out[key] = _without_descriptions(value)
        else:
            out[key] = value
    return out


def _described(node: dict[str, Any], text: str) -> dict[str, Any]:
    """The node with `description` first (beside a `$ref` too: draft-07 validators ignore it there)."""
    return {"description": text, **{k: v for k, v in node.items() if k != "description"}}


def _set_description(schema: dict[str, Any], parts: list[str], text: str) -> None:
    """Describe the property at `parts`.

    A documented value's parents must be written out in the schema, not `$ref`s: a definition is
    shared (driver and executor alike), so a description written into it would describe both.
    """
    node = schema
    for index, part in enumerate(parts):
        if "$ref" in node:
            raise SystemExit(
                f"{'.'.join(parts)}: its parent {'.'.join(parts[:index])} is a $ref in values.schema.json; "
                "write that object out so that its properties can carry their own descriptions"
            )
        properties = node.get("properties", {})
        if part not in properties:
            raise SystemExit(f"{'.'.join(parts)} is documented in values.yaml but not in values.schema.json")
        if index == len(parts) - 1:
            properties[part] = _described(properties[part], text)
        node = properties[part]


def header(values_yaml: Path) -> str:
    """The first line of values.yaml's opening comment: what the values are for."""
    first = values_yaml.read_text().splitlines()[0]
    if not first.startswith("#"):
        raise SystemExit(f"{values_yaml}: the first line should be a comment that says what the values are for")
    return first.lstrip("#").strip()


def generate(schema: dict[str, Any], docs: list[valuedocs.ValueDoc], root_description: str) -> dict[str, Any]:
    """The schema with its descriptions rewritten from the value docs."""
    fresh = _without_descriptions(schema)
    for doc in docs:
        if doc.description:
            _set_description(fresh, doc.parts, doc.description)
    ordered = {k: fresh[k] for k in ("$schema", "title") if k in fresh}
    ordered["description"] = root_description
    ordered.update({k: v for k, v in fresh.items() if k not in ordered})
    return ordered


def render(chart: Path) -> str:
    """The text values.schema.json should have."""
    schema = json.loads((chart / "values.schema.json").read_text())
    fresh = generate(schema, valuedocs.chart_docs(chart), header(chart / "values.yaml"))
    return json.dumps(fresh, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the schema's descriptions (or, with --check, report whether they are current)."""
    args = list(sys.argv[1:] if argv is None else argv)
    chart = CHART
    if "--chart" in args:
        chart = Path(args[args.index("--chart") + 1])
    path = chart / "values.schema.json"
    current = path.read_text()
    fresh = render(chart)
    if "--check" in args:
        if fresh != current:
            print(f"{path} is stale: run python scripts/chart_schema.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
