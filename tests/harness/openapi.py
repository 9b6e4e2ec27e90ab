"""OpenAPI v3 documents for the emulator, built from kubernetes-validate's schemas.

Helm 4 asks the API server for `/openapi/v3` before a server-side apply; client-go needs, per kind,
a path with a `patch` operation carrying `x-kubernetes-group-version-kind` and a `fieldValidation`
parameter, or it falls back to OpenAPI v2 (protobuf), which the emulator does not serve.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate

SCHEMAS = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"


def schema_version(version: tuple[str, str]) -> str:
    """The kubernetes-validate schema set for a server version (major, minor): the same minor, else the newest."""
    wanted = f"{version[0]}.{version[1]}.0"
    if (SCHEMAS / f"v{wanted}-local").is_dir():
        return wanted
    known = sorted(
        (tuple(int(p) for p in d.name[1:].removesuffix("-local").split(".")), d.name[1:].removesuffix("-local"))
        for d in SCHEMAS.glob("v*-local")
    )
    return known[-1][1]


@cache
def _schemas(schema: str) -> dict[str, Any]:
    text = (SCHEMAS / f"v{schema}-local" / "_definitions.json").read_text()
    text = text.replace('"#/$defs/', '"#/components/schemas/')
    schemas: dict[str, Any] = json.loads(text)["$defs"]
    return schemas


def group_version_path(group: str, version: str) -> str:
    """`api/v1` or `apis/<group>/<version>`: the key of a group-version in the v3 index."""
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def index(group_versions: list[tuple[str, str]]) -> dict[str, Any]:
    """The `/openapi/v3` discovery document."""
    return {
        "paths": {
            group_version_path(g, v): {"serverRelativeURL": f"/openapi/v3/{group_version_path(g, v)}?hash=sparkhelm"}
            for g, v in sorted(group_versions)
        }
    }


@cache
def document(group: str, version: str, kinds: tuple[tuple[str, str, bool], ...], schema: str) -> bytes:
    """The OpenAPI v3 document of one group-version; `kinds` are (kind, plural, namespaced), `schema` a
    kubernetes-validate version (schema_version)."""
    prefix = "/" + group_version_path(group, version)
    paths: dict[str, Any] = {}
    for kind, plural, namespaced in kinds:
        scope = "/namespaces/{namespace}" if namespaced else ""
        paths[f"{prefix}{scope}/{plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {"200": {"description": "OK"}},
            }
        }
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (sparkhelm test emulator)", "version": f"v{schema}"},
        "paths": paths,
        "components": {"schemas": _schemas(schema)},
    }
    return json.dumps(doc).encode()
