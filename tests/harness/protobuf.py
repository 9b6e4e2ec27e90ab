"""Decode the few Kubernetes protobuf request bodies Helm's release storage sends.

Helm's `secret` and `configmap` storage drivers talk protobuf to the API server; kmock reads only
JSON. No PyPI package ships Python bindings for Kubernetes' generated.proto files, so this reads the
protobuf wire format directly for the messages involved (Secret, ConfigMap, DeleteOptions, and
kubectl's SelfSubjectAccessReview), field numbers taken from k8s.io/api/core/v1 and
authorization/v1 generated.proto and apimachinery's meta/v1.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message; length-delimited values stay bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            yield number, buf[pos : pos + size]
            pos += size
        elif wire == 1:
            yield number, buf[pos : pos + 8]
            pos += 8
        elif wire == 5:
            yield number, buf[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _map_entry(buf: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, item in _fields(buf):
        if number == 1 and isinstance(item, bytes):
            key = item.decode()
        elif number == 2 and isinstance(item, bytes):
            value = item
    return key, value


def _object_meta(buf: bytes) -> dict[str, Any]:
    names = {1: "name", 2: "generateName", 3: "namespace", 5: "uid", 6: "resourceVersion"}
    meta: dict[str, Any] = {}
    for number, item in _fields(buf):
        if number in names and isinstance(item, bytes):
            meta[names[number]] = item.decode()
        elif number in (11, 12) and isinstance(item, bytes):
            key, value = _map_entry(item)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = value.decode()
        elif number == 14 and isinstance(item, bytes):
            meta.setdefault("finalizers", []).append(item.decode())
    return meta


def _secret(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}
    for number, item in _fields(buf):
        if number == 1 and isinstance(item, bytes):
            obj["metadata"] = _object_meta(item)
        elif number == 2 and isinstance(item, bytes):
            key, value = _map_entry(item)
            obj.setdefault("data", {})[key] = base64.b64encode(value).decode()
        elif number == 3 and isinstance(item, bytes):
            obj["type"] = item.decode()
        elif number == 4 and isinstance(item, bytes):
            key, value = _map_entry(item)
            obj.setdefault("stringData", {})[key] = value.decode()
        elif number == 5:
            obj["immutable"] = bool(item)
    return obj


def _config_map(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}
    for number, item in _fields(buf):
        if number == 1 and isinstance(item, bytes):
            obj["metadata"] = _object_meta(item)
        elif number in (2, 3) and isinstance(item, bytes):
            key, value = _map_entry(item)
            if number == 2:
                obj.setdefault("data", {})[key] = value.decode()
            else:
                obj.setdefault("binaryData", {})[key] = base64.b64encode(value).decode()
        elif number == 4:
            obj["immutable"] = bool(item)
    return obj


def _strings(buf: bytes, names: dict[int, str]) -> dict[str, Any]:
    """The string fields of a message whose fields are all strings (or ignored)."""
    out: dict[str, Any] = {}
    for number, item in _fields(buf):
        if number in names and isinstance(item, bytes):
            out[names[number]] = item.decode()
    return out


# authorization/v1 ResourceAttributes (fieldSelector 8 and labelSelector 9 are alpha: not read)
_RESOURCE_ATTRIBUTES = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource", 6: "subresource", 7: "name"}
_NON_RESOURCE_ATTRIBUTES = {1: "path", 2: "verb"}


def _self_subject_access_review(buf: bytes) -> dict[str, Any]:
    """`kubectl auth can-i` sends its SelfSubjectAccessReview as protobuf."""
    obj: dict[str, Any] = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                           "metadata": {}, "spec": {}}
    for number, item in _fields(buf):
        if number == 1 and isinstance(item, bytes):
            obj["metadata"] = _object_meta(item)
        elif number == 2 and isinstance(item, bytes):
            for sub, value in _fields(item):
                if sub == 1 and isinstance(value, bytes):
                    obj["spec"]["resourceAttributes"] = _strings(value, _RESOURCE_ATTRIBUTES)
                elif sub == 2 and isinstance(value, bytes):
                    obj["spec"]["nonResourceAttributes"] = _strings(value, _NON_RESOURCE_ATTRIBUTES)
    return obj


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded request body (`k8s\\0` + runtime.Unknown)."""
    if not body.startswith(MAGIC):
        raise ValueError("not a Kubernetes protobuf body")
    kind, raw = "", b""
    for number, item in _fields(body[len(MAGIC) :]):
        if number == 1 and isinstance(item, bytes):
            for sub, value in _fields(item):
                if sub == 2 and isinstance(value, bytes):
                    kind = value.decode()
        elif number == 2 and isinstance(item, bytes):
            raw = item
    if kind == "Secret":
        return _secret(raw)
    if kind == "ConfigMap":
        return _config_map(raw)
    if kind == "SelfSubjectAccessReview":
        return _self_subject_access_review(raw)
    if kind == "DeleteOptions":
        return {"kind": "DeleteOptions"}
    raise ValueError(f"the harness cannot decode protobuf {kind or 'message'}")
