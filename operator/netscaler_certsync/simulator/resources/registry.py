"""How resource handlers plug in: the per-request context and the handler tables.

A write handler takes the context and one object of the request body (for DELETE: the name
plus `args`) and returns extra response fields or None. A read handler returns the records of
a GET (a list, or a dict for object-shaped resources such as `nsversion`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netscaler_certsync.simulator.config import SimulatorConfig
from netscaler_certsync.simulator.errors import NitroError
from netscaler_certsync.simulator.sessions import Session
from netscaler_certsync.simulator.state import ApplianceState, Partition

Record = dict[str, Any]


@dataclass(slots=True)
class NitroRequest:
    method: str
    kind: str  # "config" or "stat"
    resource: str
    name: str | None
    action: str | None
    query: dict[str, str]
    args: dict[str, str] = field(default_factory=dict)
    filters: dict[str, str] = field(default_factory=dict)
    #: bulk error mode: exit | continue | rollback (X-NITRO-ONERROR header or `onerror` query)
    onerror: str = "exit"


@dataclass(slots=True)
class Ctx:
    state: ApplianceState
    part: Partition
    session: Session
    request: NitroRequest
    #: this node's HA role: standalone | primary | secondary
    ha_state: str = "standalone"
    #: (errorcode, message) warnings; answered as 209 only when the request asked `warning=yes`
    warnings: list[tuple[int, str]] = field(default_factory=list)
    #: a handler may override the success status (e.g. 200 for an idempotent add that updated)
    status: int | None = None

    @property
    def config(self) -> SimulatorConfig:
        return self.state.config


WriteHandler = Callable[[Ctx, Record], Record | None]
ReadHandler = Callable[[Ctx], list[Record] | Record]

#: (resource, op) -> handler; op is "add", "set", "delete" or an action verb (lower case)
WRITES: dict[tuple[str, str], WriteHandler] = {}
#: resource -> GET handler (config); "stat:<resource>" for statistics
READS: dict[str, ReadHandler] = {}


def write(resource: str, op: str) -> Callable[[WriteHandler], WriteHandler]:
    def decorate(fn: WriteHandler) -> WriteHandler:
        WRITES[(resource, op.lower())] = fn
        return fn

    return decorate


def read(resource: str) -> Callable[[ReadHandler], ReadHandler]:
    def decorate(fn: ReadHandler) -> ReadHandler:
        READS[resource] = fn
        return fn

    return decorate


def known_resources() -> set[str]:
    return {r for r, _ in WRITES} | {r for r in READS if not r.startswith("stat:")}


def _scalar(key: str, value: Any) -> str:
    """A string attribute as the appliance reads it; objects and arrays are 1097."""
    if isinstance(value, dict | list):
        raise NitroError(1097, key)
    return str(value).lower() if isinstance(value, bool) else str(value)


def require(item: Record, *keys: str) -> list[str]:
    """The string values of `keys`; 1095 naming the first one missing or empty."""
    values = []
    for key in keys:
        value = item.get(key)
        if value is None or value == "":
            raise NitroError(1095, key)
        values.append(_scalar(key, value))
    return values


def text(item: Record, key: str) -> str | None:
    value = item.get(key)
    return None if value is None or value == "" else _scalar(key, value)


def number(item: Record, key: str, low: int | None = None, high: int | None = None) -> int:
    """An integer attribute (numbers may arrive as strings); 1097 when not a number or out of range."""
    value = item.get(key)
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        result = int(str(value))
    except ValueError as exc:
        raise NitroError(1097, key, value) from exc
    if (low is not None and result < low) or (high is not None and result > high):
        raise NitroError(1097, key, value)
    return result


def boolean(item: Record, key: str) -> bool:
    """A NITRO boolean attribute: JSON true/false or exactly "true"/"false" (absent: false).

    A real appliance refuses `True`, `yes` or `1` with 400/1097 "Invalid argument value [<key>]"
    (ansible-collection-netscaleradc #454: `snicert:True` refused, `snicert:true` accepted).
    """
    value = item.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    if value in ("true", "false"):
        return value == "true"
    raise NitroError(1097, key)


def flag(value: object) -> bool:
    """Query switches and enums: "yes"/"no", "ENABLED"/"DISABLED" (booleans go through `boolean`)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("true", "yes", "enabled", "1", "on")
