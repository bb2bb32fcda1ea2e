"""Expiry series are forgotten per CertificateSync without touching other syncs' series."""

from __future__ import annotations

import datetime as dt

from prometheus_client import generate_latest

from netscaler_certsync.metrics import Metrics
from netscaler_certsync.nitro import RequestEvent

WHEN = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def _expiry_labels(metrics: Metrics) -> set[tuple[str, ...]]:
    return set(Metrics.series(metrics.certificate_expiry))


def test_a_sync_forgets_only_its_own_stale_series() -> None:
    m = Metrics()
    m.record_expiry("ns", "a", "adc", "a-old", WHEN, secret="a-old-tls")
    m.record_expiry("ns", "a", "adc", "a-new", WHEN, secret="a-new-tls")
    m.record_expiry("ns", "b", "adc", "b-cert", WHEN, secret="b-cert-tls")
    m.forget_expiry("ns", "a", {("adc", "a-new")})
    assert _expiry_labels(m) == {
        ("ns", "a", "adc", "a-new", "a-new-tls"),
        ("ns", "b", "adc", "b-cert", "b-cert-tls"),
    }
    assert m.expiry_series("ns", "a") == {("adc", "a-new")}


def test_deleting_a_sync_drops_its_ready_and_expiry_series() -> None:
    m = Metrics()
    m.ready.labels("CertificateSync", "ns", "a").set(1)
    m.record_expiry("ns", "a", "adc", "a-cert", WHEN, secret="a-cert-tls")
    m.record_expiry("ns", "b", "adc", "b-cert", WHEN, secret="b-cert-tls")
    m.forget_resource("CertificateSync", "ns", "a")
    m.forget_resource("CertificateSync", "ns", "never-seen")  # nothing to drop: no error
    assert set(Metrics.series(m.ready)) == set()
    assert _expiry_labels(m) == {("ns", "b", "adc", "b-cert", "b-cert-tls")}
    assert m.expiry_series("ns", "a") == set()


def test_no_created_series_are_exported() -> None:
    metrics = Metrics()
    metrics.reconcile_total.labels("CertificateSync", "ok").inc()
    metrics.reconcile_duration.labels("CertificateSync").observe(0.1)
    text = generate_latest(metrics.registry).decode()
    assert "certsync_reconcile_total" in text
    assert "_created" not in text


def test_one_label_convention_for_connections_and_requests() -> None:
    """Issue 17: `connection` meant namespace/name on the request counter but only the name on
    `certsync_connection_up`; the error label is `errorcode`; the duration histogram has the
    resource. Every series names a connection by `namespace` and `connection` (its name)."""
    m = Metrics()
    hook = m.nitro_hook("web", "adc")
    hook(_event(resource="sslcertkey", operation="add", status=599, errorcode=1540))
    requests = Metrics.series_with_names(m.nitro_requests)
    assert requests == [
        {
            "namespace": "web",
            "connection": "adc",
            "resource": "sslcertkey",
            "operation": "add",
            "errorcode": "1540",
        }
    ]
    durations = Metrics.series_with_names(m.nitro_duration)
    assert {"namespace": "web", "connection": "adc", "resource": "sslcertkey", "operation": "add"} in [
        {k: v for k, v in d.items() if k != "le"} for d in durations
    ]


def test_expiry_carries_the_secret_so_it_joins_with_cert_managers_metrics() -> None:
    m = Metrics()
    m.record_expiry("web", "shop", "adc", "web-shop", WHEN, secret="shop-tls")
    assert Metrics.series_with_names(m.certificate_expiry) == [
        {
            "namespace": "web",
            "certificatesync": "shop",
            "connection": "adc",
            "certkey": "web-shop",
            "secret": "shop-tls",
        }
    ]
    m.forget_expiry("web", "shop", set())
    assert Metrics.series(m.certificate_expiry) == []


def _event(*, resource: str, operation: str, status: int, errorcode: int) -> RequestEvent:
    return RequestEvent("POST", resource, operation, None, status, errorcode, 0.01)


def test_appliance_certkey_series_follow_the_appliance_and_the_connection() -> None:
    m = Metrics()
    m.record_inventory(
        "ns", "adc", [("hand", "none", WHEN), ("ours", "this", WHEN), ("no-date", "none", None)]
    )
    m.record_inventory("ns", "other", [("x", "other", WHEN)])
    # hand was deleted on the appliance; ours was taken over by another cluster.
    m.record_inventory("ns", "adc", [("ours", "other", WHEN)])
    assert set(Metrics.series(m.appliance_certkey_expiry)) == {
        ("ns", "adc", "ours", "other"),
        ("ns", "other", "x", "other"),
    }
    m.forget_resource("NetScalerConnection", "ns", "adc")
    assert set(Metrics.series(m.appliance_certkey_expiry)) == {("ns", "other", "x", "other")}
