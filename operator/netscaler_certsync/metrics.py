"""Prometheus metrics of the operator (`certsync_` prefix), on their own port.

One `Metrics` object per operator (its own registry, so tests can run several side by side).
Labels stay low-cardinality: kinds, results, fixed NITRO operation words and errorcodes; the only
per-object labels are the resource and certificate identities, as cert-manager does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from importlib import metadata
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

from netscaler_certsync import __version__
from netscaler_certsync.nitro import RequestEvent

# `*_created` series double the series count and no dashboard or alert reads them.
disable_created_metrics()

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build_info = Gauge(
            "certsync_build_info",
            "Version of the operator and of kopf.",
            ["version", "kopf_version"],
            registry=r,
        )
        self.build_info.labels(__version__, metadata.version("kopf")).set(1)
        self.reconcile_total = Counter(
            "certsync_reconcile_total", "Reconciles by kind and result.", ["kind", "result"], registry=r
        )
        self.reconcile_duration = Histogram(
            "certsync_reconcile_duration_seconds",
            "Reconcile wall time.",
            ["kind"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.nitro_requests = Counter(
            "certsync_nitro_requests_total",
            "NITRO requests by connection, resource, operation and errorcode (or 'transport').",
            ["namespace", "connection", "resource", "operation", "errorcode"],
            registry=r,
        )
        self.nitro_duration = Histogram(
            "certsync_nitro_request_duration_seconds",
            "NITRO request wall time.",
            ["namespace", "connection", "resource", "operation"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.connection_up = Gauge(
            "certsync_connection_up",
            "1 when the appliance answered the last check with a usable session, else 0.",
            ["namespace", "connection"],
            registry=r,
        )
        self.certificate_expiry = Gauge(
            "certsync_certificate_expiration_timestamp_seconds",
            "notAfter of each certificate as the appliance reports it (read back after each sync).",
            ["namespace", "certificatesync", "connection", "certkey", "secret"],
            registry=r,
        )
        # One series per certkey on each appliance, whoever installed it: one alert covers the
        # certificates nobody automated. `managed` has three values (engine/inventory.OWNERS).
        self.appliance_certkey_expiry = Gauge(
            "certsync_appliance_certkey_expiration_timestamp_seconds",
            "notAfter of every certkey on the appliance (from the last listing), by owner: "
            "managed=this (this cluster), other (another cluster), none (not managed).",
            ["namespace", "connection", "certkey", "managed"],
            registry=r,
        )
        self.ready = Gauge(
            "certsync_resource_ready",
            "1 when the resource's Ready condition is True, else 0.",
            ["kind", "namespace", "name"],
            registry=r,
        )
        self.leader = Gauge(
            "certsync_leader",
            "1 while this process holds the operator's Lease (and runs the handlers), else 0.",
            registry=r,
        )
        self.leadership_changes = Counter(
            "certsync_leadership_changes_total",
            "Leadership changes of this process: acquired, released (clean stop) or lost.",
            ["change"],
            registry=r,
        )
        # (namespace, certificatesync) -> {(connection, certkey): secret} with an expiry series:
        # each sync forgets its stale series without scanning every series (which made every
        # reconcile O(all certificates): a fifth of the operator's CPU in a drift wave of 300 syncs).
        self._expiry: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
        self._inventory: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def serve(self, port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - scraped from the pod network
        start_http_server(port, addr=addr, registry=self.registry)

    def nitro_hook(self, namespace: str, connection: str) -> Callable[[RequestEvent], None]:
        """An `on_request` hook for one connection's NitroClient. Every series names a connection
        by `namespace` and `connection` (its name), as `certsync_connection_up` does."""

        def hook(event: RequestEvent) -> None:
            code = "transport" if event.status is None else str(event.errorcode or 0)
            self.nitro_requests.labels(namespace, connection, event.resource, event.operation, code).inc()
            self.nitro_duration.labels(namespace, connection, event.resource, event.operation).observe(
                event.duration
            )

        return hook

    def record_expiry(
        self,
        namespace: str,
        sync: str,
        connection: str,
        certkey: str,
        not_after: dt.datetime | None,
        *,
        secret: str,
    ) -> None:
        """`secret` names the Secret the certificate came from, so the series joins with
        cert-manager's (`certmanager_certificate_expiration_timestamp_seconds` has no certkey)."""
        if not_after is None:
            return
        known = self._expiry.setdefault((namespace, sync), {})
        if known.get((connection, certkey), secret) != secret:  # the certkey now holds another Secret
            with contextlib.suppress(KeyError):
                self.certificate_expiry.remove(
                    namespace, sync, connection, certkey, known[(connection, certkey)]
                )
        self.certificate_expiry.labels(namespace, sync, connection, certkey, secret).set(
            not_after.timestamp()
        )
        known[(connection, certkey)] = secret

    def expiry_series(self, namespace: str, sync: str) -> set[tuple[str, str]]:
        """(connection, certkey) of each expiry series this sync has."""
        return set(self._expiry.get((namespace, sync), ()))

    def forget_expiry(self, namespace: str, sync: str, keep: set[tuple[str, str]]) -> None:
        """Drop the series of certificates this sync no longer deploys (removed, renamed)."""
        known = self._expiry.get((namespace, sync), {})
        for connection, certkey in set(known) - keep:
            with contextlib.suppress(KeyError):
                self.certificate_expiry.remove(
                    namespace, sync, connection, certkey, known.pop((connection, certkey))
                )
        if not known:
            self._expiry.pop((namespace, sync), None)

    def record_inventory(
        self, namespace: str, connection: str, certkeys: Iterable[tuple[str, str, dt.datetime | None]]
    ) -> None:
        """Set the expiry series of one connection's appliance to `certkeys` (name, managed,
        notAfter) and drop the series of certkeys no longer there (or whose owner changed)."""
        wanted = {(name, managed): t for name, managed, t in certkeys if t is not None}
        known = self._inventory.setdefault((namespace, connection), set())
        for name, managed in known - set(wanted):
            with contextlib.suppress(KeyError):
                self.appliance_certkey_expiry.remove(namespace, connection, name, managed)
        for (name, managed), not_after in wanted.items():
            self.appliance_certkey_expiry.labels(namespace, connection, name, managed).set(
                not_after.timestamp()
            )
        self._inventory[(namespace, connection)] = set(wanted)

    def forget_resource(self, kind: str, namespace: str, name: str) -> None:
        with contextlib.suppress(KeyError):
            self.ready.remove(kind, namespace, name)
        if kind == "CertificateSync":
            self.forget_expiry(namespace, name, set())
        else:
            if (namespace, name) in self.series(self.connection_up):
                self.connection_up.remove(namespace, name)
            self.record_inventory(namespace, name, ())
            self._inventory.pop((namespace, name), None)

    @staticmethod
    def series(metric: Gauge) -> list[tuple[str, ...]]:
        return [tuple(s.labels.values()) for family in metric.collect() for s in family.samples]

    @staticmethod
    def series_with_names(metric: Any) -> list[dict[str, str]]:
        """Each sample's labels by name (counters also export `_total`; histograms `_bucket`...)."""
        return [
            dict(s.labels)
            for family in metric.collect()
            for s in family.samples
            if not s.name.endswith(("_sum", "_count"))
        ]
