"""Seeded, deterministic fault injection: latency with jitter, errors per resource and verb,
connection resets, hangs longer than a client timeout, forced session expiry, slow saves; and
two faults of the data plane (served vservers), which NITRO requests never trigger:
`stale_serving` (the vserver keeps serving the certificate it served before, whatever NITRO
changed, like an appliance whose packet engines missed an update) and `drop_link` (the vserver
sends its certificate without the linked CA certificates). For these, `name` is the vserver
(None: every vserver) and `times`/`after`/`probability` count handshakes.

A rule matches on resource, method, action and name (None matches anything); it can be limited
to `times` occurrences, skip the first `after` matches, and fire with a `probability` drawn
from a `random.Random(seed)`, so the same seed gives the same faults in the same order.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

FaultKind = Literal["error", "latency", "reset", "timeout", "expire_session", "stale_serving", "drop_link"]
#: Faults of the served vservers (TLS handshakes), not of NITRO requests.
SERVING_KINDS = ("stale_serving", "drop_link")
KINDS = ("error", "latency", "reset", "timeout", "expire_session", *SERVING_KINDS)


@dataclass
class FaultRule:
    """One fault; `kind` picks what happens when it fires."""

    kind: FaultKind = "error"
    resource: str | None = None
    method: str | None = None
    #: a `?action=` verb; "" matches only requests without an action
    action: str | None = None
    name: str | None = None
    #: for "error": HTTP status, NITRO errorcode and message of the answer
    status: int = 503
    errorcode: int = 9999
    message: str = "Simulated fault"
    #: for "error": the body form — the JSON envelope, an HTML login-failure page, or nothing
    body: Literal["json", "html", "empty"] = "json"
    #: for "latency": seconds added, plus uniform(0, jitter)
    delay: float = 0.0
    jitter: float = 0.0
    #: for "timeout": how long to hang before closing the connection without an answer
    hang: float = 30.0
    #: "before" the request is served (nothing changes), or "after" it took effect: the
    #: client then cannot tell whether its write happened (for error, reset and timeout)
    phase: Literal["before", "after"] = "before"
    #: fire at most this many times (None: no limit), after skipping `after` matches
    times: int | None = None
    after: int = 0
    probability: float = 1.0
    #: how many times it matched / fired so far
    matched: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        # Rules also arrive as JSON (admin endpoint, --fault): coerce, so a bad type fails here.
        for name in ("status", "errorcode", "after"):
            setattr(self, name, int(getattr(self, name)))
        for name in ("delay", "jitter", "hang", "probability"):
            setattr(self, name, float(getattr(self, name)))
        if self.times is not None:
            self.times = int(self.times)
        for name in ("resource", "method", "action", "name"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"fault field {name} must be a string")
        if self.kind not in KINDS:
            raise ValueError(f"fault kind must be one of {KINDS}, not {self.kind!r}")
        if self.method is not None:
            self.method = self.method.upper()
        if self.body not in ("json", "html", "empty"):
            raise ValueError(f"fault body must be 'json', 'html' or 'empty', not {self.body!r}")
        if self.phase not in ("before", "after"):
            raise ValueError(f"fault phase must be 'before' or 'after', not {self.phase!r}")

    def matches(self, method: str, resource: str, action: str | None, name: str | None) -> bool:
        return (
            (self.resource in (None, "*") or self.resource == resource)
            and (self.method is None or self.method == method)
            and (self.action is None or (self.action or None) == (action.lower() if action else None))
            and (self.name is None or self.name == name)
        )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        fields = {f.name for f in dataclasses.fields(cls)} - {"matched", "fired"}
        unknown = set(data) - fields
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)


class FaultInjector:
    """The active rules, evaluated in insertion order."""

    def __init__(self, seed: int = 0) -> None:
        self.rules: list[FaultRule] = []
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def jitter(self, rule: FaultRule) -> float:
        return rule.delay + (self._rng.uniform(0, rule.jitter) if rule.jitter > 0 else 0.0)

    def fire(self, method: str, resource: str, action: str | None, name: str | None) -> list[FaultRule]:
        """The rules that fire for this request (and count them)."""
        if not self.rules:
            return []
        return self._count(
            r for r in self.rules if r.kind not in SERVING_KINDS and r.matches(method, resource, action, name)
        )

    def fire_serving(self, vserver: str) -> set[str]:
        """The data-plane fault kinds that fire for one handshake on `vserver` (and count them)."""
        if not self.rules:
            return set()
        matching = (r for r in self.rules if r.kind in SERVING_KINDS and r.name in (None, vserver))
        return {r.kind for r in self._count(matching)}

    def _count(self, matching: Iterable[FaultRule]) -> list[FaultRule]:
        fired = []
        for rule in matching:
            rule.matched += 1
            if rule.exhausted or rule.matched <= rule.after:
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            fired.append(rule)
        return fired


def parse_fault(text: str) -> FaultRule:
    """A rule from the command line: JSON, or `kind=error,resource=sslcertkey,errorcode=1541,times=1`."""
    text = text.strip()
    if text.startswith("{"):
        return FaultRule.from_json(json.loads(text))
    types = {f.name: f.type for f in dataclasses.fields(FaultRule)}
    data: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in types:
            raise ValueError(f"bad fault field {part!r}")
        kind = str(types[key])
        if value == "" and "None" in kind:
            data[key] = None
        elif kind.startswith("int"):
            data[key] = int(value)
        elif kind.startswith("float"):
            data[key] = float(value)
        else:
            data[key] = value
    return FaultRule.from_json(data)
