"""Log set-up: kopf's handler and format, and which of kopf's routine lines reach INFO.

At INFO the operator says one line per sync (`reconcile/certificatesync.log_sync`) and one per
connection check outcome; appliance operations and NITRO calls are at DEBUG. kopf itself logs a
line at INFO for every handler and timer that succeeds: with many CertificateSyncs and a drift
timer ticking for each, that is many lines a second saying nothing, so those go only to
`--verbose` output (docs/decisions/015-log-lines.md). Failures, retries and everything kopf logs
above INFO stay.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import kopf

__all__ = [
    "PLAIN_FORMAT",
    "JsonFields",
    "KopfHandlerNames",
    "KopfRetriesAreWarnings",
    "RoutineKopfLines",
    "configure",
    "object_ref",
    "startup_line",
]

#: kopf's FULL format cuts logger names to 20 characters ("netscaler_certsync.r"); ours does not.
#: kopf adds "[namespace/name] " before the message of lines about one object.
PLAIN_FORMAT = "[%(asctime)s] %(levelname)-7s %(name)s: %(message)s"

_ROUTINE = re.compile(
    r"^(Timer|Handler|Daemon|Activity) '[^']*' succeeded\.$"
    r"|^(Creation|Update|Resuming|Deletion) is processed: \d+ succeeded; 0 failed\.$"
)


class RoutineKopfLines(logging.Filter):
    """Drops kopf's INFO lines that only say a handler or timer succeeded."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith("kopf."):
            return True
        return _ROUTINE.match(record.getMessage()) is None


class KopfHandlerNames(logging.Filter):
    """kopf names a handler by its Python path (`register.<locals>.sync_on_spec`); say `sync_on_spec`.

    On the `kopf.objects` logger it also rewrites the Events kopf posts from those records.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and _LOCALS in record.msg:
            record.msg = record.msg.replace(_LOCALS, "")
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(a.replace(_LOCALS, "") if isinstance(a, str) else a for a in record.args)
        return True


_LOCALS = "register.<locals>."


class KopfRetriesAreWarnings(logging.Filter):
    """kopf logs a `TemporaryError` at ERROR ("… failed temporarily: …") and posts it as an Error
    Event. Those are the failures the operator retries by design (an unreachable appliance, a
    503): WARNING, so that ERROR means something crashed. Installed on `kopf.objects` before
    kopf's Event poster sees the record, so the Event is a Warning too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and " failed temporarily" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class JsonFields(logging.Filter):
    """The fields of the plain format as JSON keys: `logger`, and `namespace` beside `object`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.logger = record.name
        ref = getattr(record, "k8s_ref", None)
        if isinstance(ref, dict) and ref.get("namespace"):
            record.namespace = ref["namespace"]
        return True


def object_ref(kind: str, namespace: str, name: str) -> dict[str, dict[str, str]]:
    """`extra=` for a log line about one object: kopf's formats show it as `[ns/name]` or `object`."""
    return {"k8s_ref": {"kind": kind, "namespace": namespace, "name": name}}


def startup_line(version: str, namespaces: Sequence[str], **facts: str) -> str:
    """The first line the operator logs: what runs and what it watches.

    `facts` are further `key=value` pairs in the order given (the cluster identity goes here).
    """
    watched = ", ".join(namespaces) if namespaces else "all (cluster-wide)"
    extra = "".join(f"; {key} {value}" for key, value in facts.items())
    return f"netscaler-certsync {version} starting; namespaces watched: {watched}{extra}"


def configure(*, log_format: str = "plain", verbose: bool = False) -> None:
    """Plain text (time, level, logger, object, message) or JSON; `verbose` is everything at DEBUG."""
    json_format = log_format == "json"
    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if json_format else PLAIN_FORMAT,  # type: ignore[arg-type]
        log_prefix=not json_format,  # JSON carries the object as its own field
    )
    # Per-request lines come from our NITRO client (DEBUG); httpx/httpcore would repeat them.
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    names = KopfHandlerNames()
    objects = logging.getLogger("kopf.objects")
    objects.addFilter(names)  # before kopf's Event poster sees the record
    if not any(isinstance(f, KopfRetriesAreWarnings) for f in objects.filters):
        objects.addFilter(KopfRetriesAreWarnings())
    for handler in logging.getLogger().handlers:
        handler.addFilter(names)
        if json_format:
            handler.addFilter(JsonFields())
        if not verbose:
            handler.addFilter(RoutineKopfLines())
