"""Decode the protobuf bodies kubectl sends for built-in kinds into the JSON the emulator stores.

kubectl's typed clients (`create secret tls`, `create namespace`, `create configmap`) send
`application/vnd.kubernetes.protobuf` bodies: the magic `k8s\\0`, then a `runtime.Unknown`
envelope (typeMeta = 1, raw = 2) whose `raw` is the object. client-go does not fall back to JSON
on a 415 for protobuf, so the emulator reads what it needs: the object metadata a user sets and
the Secret/ConfigMap/Namespace fields (field numbers from k8s.io/api's generated.proto). Anything
else is a `ProtobufError`, which the emulator answers with 415 and a message that never contains
the body (it may carry a private key).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

__all__ = ["ProtobufError", "decode_object"]

MAGIC = b"k8s\x00"


class ProtobufError(ValueError):
    """The body is not a protobuf object the emulator can read (the message names no content)."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):  # a varint has at most 10 bytes
        if pos >= len(buf):
            break
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise ProtobufError("malformed protobuf varint")


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value): ints for varints, bytes for length-delimited; fixed widths skipped."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ProtobufError("truncated protobuf field")
            yield number, buf[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ProtobufError(f"unsupported protobuf wire type {wire}")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a string field")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise ProtobufError("a string field is not UTF-8") from None


def _entry(value: int | bytes) -> tuple[str, bytes]:
    """One map<string, X> entry (key = 1, value = 2), the value as raw bytes."""
    if not isinstance(value, bytes):
        raise ProtobufError("expected a map entry")
    key, raw = "", b""
    for number, item in _fields(value):
        if number == 1:
            key = _text(item)
        elif number == 2 and isinstance(item, bytes):
            raw = item
    return key, raw


def _metadata(buf: bytes) -> dict[str, Any]:
    md: dict[str, Any] = {}
    scalar = {1: "name", 2: "generateName", 3: "namespace"}
    maps = {11: "labels", 12: "annotations"}
    for number, value in _fields(buf):
        if number in scalar and _text(value):
            md[scalar[number]] = _text(value)
        elif number in maps:
            key, raw = _entry(value)
            md.setdefault(maps[number], {})[key] = raw.decode(errors="replace")
        elif number == 14:
            md.setdefault("finalizers", []).append(_text(value))
    return md


def _secret(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret"}
    for number, value in _fields(buf):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _metadata(value)
        elif number == 2:
            key, raw = _entry(value)
            obj.setdefault("data", {})[key] = base64.b64encode(raw).decode()
        elif number == 3:
            obj["type"] = _text(value)
        elif number == 4:
            key, raw = _entry(value)
            obj.setdefault("stringData", {})[key] = raw.decode(errors="replace")
        elif number == 5:
            obj["immutable"] = bool(value)
    return obj


def _configmap(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
    for number, value in _fields(buf):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _metadata(value)
        elif number == 2:
            key, raw = _entry(value)
            obj.setdefault("data", {})[key] = raw.decode(errors="replace")
        elif number == 3:
            key, raw = _entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(raw).decode()
        elif number == 4:
            obj["immutable"] = bool(value)
    return obj


def _namespace(buf: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace"}
    for number, value in _fields(buf):
        if number == 1 and isinstance(value, bytes):
            obj["metadata"] = _metadata(value)
    return obj


_DECODERS = {("v1", "Secret"): _secret, ("v1", "ConfigMap"): _configmap, ("v1", "Namespace"): _namespace}


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Secret, ConfigMap or Namespace."""
    if not body.startswith(MAGIC):
        raise ProtobufError("not a Kubernetes protobuf body (no k8s\\0 prefix)")
    api_version = kind = ""
    raw = b""
    for number, value in _fields(body[len(MAGIC) :]):
        if number == 1 and isinstance(value, bytes):
            for sub, item in _fields(value):
                if sub == 1:
                    api_version = _text(item)
                elif sub == 2:
                    kind = _text(item)
        elif number == 2 and isinstance(value, bytes):
            raw = value
    decoder = _DECODERS.get((api_version, kind))
    if decoder is None:
        supported = ", ".join(k for _, k in _DECODERS)
        raise ProtobufError(f"protobuf is supported for {supported} only; send {kind or 'this kind'} as JSON")
    return decoder(raw)
