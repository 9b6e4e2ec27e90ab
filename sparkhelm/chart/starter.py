"""`sparkhelm init`: a commented starter values file that renders as it is.

The keys a data engineer edits first, with the chart's defaults and the chart's own `# --`
comments above each key, written with ruamel.yaml's round-trip dumper (comments are part of
its document model; PyYAML drops them).
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

from sparkhelm.chart import docs as value_docs
from sparkhelm.chart.files import chart_metadata
from sparkhelm.errors import UserError

LANGUAGES = ("python", "scala")

#: The keys of the starter, in order; the values not given per language are the chart's defaults.
STARTER_KEYS = (
    "app.name",
    "app.mainApplicationFile",
    "app.mainClass",
    "app.arguments",
    "priorityClassName",
    "driver.memory",
    "driver.cores",
    "executor.instances",
    "executor.cores",
    "executor.memory",
    "sparkConf",
)
WIDTH = 100


def _language_values(language: str, app_version: str) -> dict[str, Any]:
    if language == "python":
        return {
            "app.name": "pyspark-pi",
            "app.mainApplicationFile": "local:///opt/spark/examples/src/main/python/pi.py",
            "app.arguments": ["100"],
        }
    return {
        "app.name": "spark-pi",
        "app.mainApplicationFile": f"local:///opt/spark/examples/jars/spark-examples_2.13-{app_version}.jar",
        "app.mainClass": "org.apache.spark.examples.SparkPi",
        "app.arguments": ["100"],
    }


def _comment(doc: value_docs.ValueDoc) -> str:
    lines = textwrap.wrap(doc.description, WIDTH - 2)
    if not doc.default_is_literal:
        lines.append(f"Default: {doc.default_text}.")
    return "\n".join(lines)


def starter(chart_dir: Path, language: str = "python") -> str:
    """The starter values file for `language` (python or scala), as YAML text with comments."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if language not in LANGUAGES:
        raise UserError(f"init: language {language!r} is not known; use --python or --scala")
    meta = chart_metadata(chart_dir)
    docs = value_docs.by_key(value_docs.chart_docs(chart_dir))
    chosen = _language_values(language, str(meta.get("appVersion", "")))
    root = CommentedMap()
    for key in STARTER_KEYS:
        if language == "python" and key == "app.mainClass":
            continue
        doc = docs[key]
        value = chosen.get(key, doc.default)
        if isinstance(value, list):
            value = CommentedSeq(value)
            value.fa.set_flow_style()
        *parents, leaf = doc.parts
        node = root
        for part in parents:
            if part not in node:
                node[part] = CommentedMap()
            node = node[part]
        node[leaf] = CommentedMap() if value == {} else value
        node.yaml_set_comment_before_after_key(leaf, before=_comment(doc), indent=2 * len(parents))
        if isinstance(node[leaf], CommentedMap):
            node[leaf].fa.set_flow_style()
    header = (
        f"# Starter values for sparkhelm ({language}), chart {meta['name']} {meta['version']}"
        f" (Spark {meta.get('appVersion')}).\n"
        "# Every other value of the chart keeps its default: `sparkhelm explain -f FILE` lists them all.\n"
        "# Try it: sparkhelm run -f FILE --dry-run\n"
    )
    yaml = YAML(typ="rt")
    yaml.width = WIDTH
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(root, out)
    return header + _spaced(out.getvalue())


def _spaced(body: str) -> str:
    """A blank line before each top-level entry (its comment block and key), for reading."""
    spaced: list[str] = []
    for line in body.splitlines():
        top_level = bool(line) and not line.startswith(" ")
        if top_level and not (spaced and spaced[-1].startswith("#")):
            spaced.append("")
        spaced.append(line)
    return "\n".join(spaced) + "\n"


def write(text: str, path: Path, *, force: bool) -> None:
    """Write the starter to `path`; an existing file is kept unless `force`."""
    if path.exists() and not force:
        raise UserError(f"init: {path} exists; choose another path with -o, or pass --force to overwrite it")
    if path.parent and not path.parent.is_dir():
        raise UserError(f"init: directory {path.parent} does not exist; create it or choose another path with -o")
    path.write_text(text)
