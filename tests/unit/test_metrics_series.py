"""Expiry series are forgotten per CertificateSync without touching other syncs' series."""

from __future__ import annotations

import datetime as dt

from prometheus_client import generate_latest

from netscaler_certsync.metrics import Metrics

WHEN = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def _expiry_labels(metrics: Metrics) -> set[tuple[str, ...]]:
    return set(Metrics.series(metrics.certificate_expiry))


def test_a_sync_forgets_only_its_own_stale_series() -> None:
    m = Metrics()
    m.record_expiry("ns", "a", "adc", "a-old", WHEN)
    m.record_expiry("ns", "a", "adc", "a-new", WHEN)
    m.record_expiry("ns", "b", "adc", "b-cert", WHEN)
    m.forget_expiry("ns", "a", {("adc", "a-new")})
    assert _expiry_labels(m) == {("ns", "a", "adc", "a-new"), ("ns", "b", "adc", "b-cert")}
    assert m.expiry_series("ns", "a") == {("adc", "a-new")}


def test_deleting_a_sync_drops_its_ready_and_expiry_series() -> None:
    m = Metrics()
    m.ready.labels("CertificateSync", "ns", "a").set(1)
    m.record_expiry("ns", "a", "adc", "a-cert", WHEN)
    m.record_expiry("ns", "b", "adc", "b-cert", WHEN)
    m.forget_resource("CertificateSync", "ns", "a")
    m.forget_resource("CertificateSync", "ns", "never-seen")  # nothing to drop: no error
    assert set(Metrics.series(m.ready)) == set()
    assert _expiry_labels(m) == {("ns", "b", "adc", "b-cert")}
    assert m.expiry_series("ns", "a") == set()


def test_no_created_series_are_exported() -> None:
    metrics = Metrics()
    metrics.reconcile_total.labels("CertificateSync", "ok").inc()
    metrics.reconcile_duration.labels("CertificateSync").observe(0.1)
    text = generate_latest(metrics.registry).decode()
    assert "certsync_reconcile_total" in text
    assert "_created" not in text
