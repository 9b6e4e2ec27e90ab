"""Turn one version of a CustomResourceDefinition into a strict draft-07 JSON schema fixture.

Run: python tests/schemas/crd_to_json_schema.py CRD.yaml VERSION OUT.json "provenance"

The API server validates a custom resource against the CRD's structural openAPIV3Schema and, with
`fieldValidation=Strict` (kubectl's and Helm 4's default), refuses unknown fields. This keeps that:
every object schema that lists `properties` gets `additionalProperties: false` unless the CRD
preserves unknown fields there; `nullable` becomes a null type; descriptions and the x-kubernetes-*
and format annotations (which draft-07 validators ignore anyway) are dropped, so the fixture holds
no prose of the source project. `metadata` becomes the strict subset of ObjectMeta the charts write.
CEL rules (x-kubernetes-validations) are not carried over: a JSON schema validator cannot run them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

_DROP = ("description", "format", "default", "example")

METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def strict(node: Any) -> Any:
    """A copy of an OpenAPI v3 structural schema node as a strict JSON schema node."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key.startswith("x-kubernetes-") or key == "nullable":
            continue
        if key == "properties":
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif (key in ("items", "additionalProperties", "not") and isinstance(value, dict)) or key in ("allOf", "anyOf", "oneOf"):
            out[key] = strict(value)
        else:
            out[key] = value
    if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def fixture(crd: dict[str, Any], version: str, provenance: str) -> dict[str, Any]:
    """The JSON schema of `version` of the CRD."""
    spec = crd["spec"]
    served = next(v for v in spec["versions"] if v["name"] == version)
    schema = strict(served["schema"]["openAPIV3Schema"])
    api_version = f"{spec['group']}/{version}"
    schema["properties"]["apiVersion"] = {"const": api_version}
    schema["properties"]["kind"] = {"const": spec["names"]["kind"]}
    schema["properties"]["metadata"] = METADATA
    schema["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", [])})
    return {"$schema": "http://json-schema.org/draft-07/schema#", "description": provenance, **schema}


def main(argv: list[str]) -> int:
    """Write the fixture."""
    source, version, out, provenance = argv
    crd = yaml.safe_load(Path(source).read_text())
    Path(out).write_text(json.dumps(fixture(crd, version, provenance), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
