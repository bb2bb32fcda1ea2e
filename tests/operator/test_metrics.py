"""Metrics, scraped from the operator's endpoint during a lifecycle: names, labels and values."""

from __future__ import annotations

import datetime as dt
import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.operator_thread import OperatorThread
from tests.operator.harness import Cluster, admin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def value(samples: dict[str, list[tuple[dict[str, str], float]]], metric: str, **labels: str) -> float | None:
    for have, v in samples.get(metric, []):
        if all(have.get(k) == want for k, want in labels.items()):
            return v
    return None


def test_metrics_follow_a_lifecycle(cluster: Cluster, operator: OperatorThread) -> None:
    port = _free_port()
    operator.ctx.metrics.serve(port, addr="127.0.0.1")
    cluster.connection()
    leaf = cluster.tls_secret("www")
    cluster.sync("www", certificates=[{"secretName": "www"}], bindings=[{"vserver": "vs_https"}])
    cluster.wait_ready("www")

    m = wait_for(
        lambda: (s := scrape(port)) and value(s, "certsync_connection_up", connection="adc") == 1 and s,
        what="metrics",
    )
    assert value(m, "certsync_build_info", version="0.1.0") == 1
    assert value(m, "certsync_resource_ready", kind="CertificateSync", namespace="default", name="www") == 1
    assert (
        value(m, "certsync_resource_ready", kind="NetScalerConnection", namespace="default", name="adc") == 1
    )
    assert value(m, "certsync_reconcile_total", kind="CertificateSync", result="success") >= 1
    assert value(m, "certsync_reconcile_duration_seconds_count", kind="CertificateSync") >= 1
    # Expiry as the appliance reports it (whole seconds, OpenSSL date): the leaf's notAfter.
    expiry = value(
        m,
        "certsync_certificate_expiration_timestamp_seconds",
        namespace="default",
        certificatesync="www",
        connection="adc",
        certkey="default-www",
        secret="www",  # joins with cert-manager's certmanager_certificate_expiration_timestamp_seconds
    )
    assert expiry == leaf.cert.not_valid_after_utc.replace(tzinfo=dt.UTC).timestamp()
    # NITRO requests by connection, resource, operation and errorcode.
    assert (
        value(
            m,
            "certsync_nitro_requests_total",
            namespace="default",
            connection="adc",
            resource="sslcertkey",
            operation="add",
            errorcode="0",
        )
        == 2  # the leaf and its intermediate
    )
    assert value(m, "certsync_nitro_requests_total", connection="adc", resource="login", errorcode="0") >= 1
    assert (
        value(
            m,
            "certsync_nitro_request_duration_seconds_count",
            namespace="default",
            connection="adc",
            resource="sslcertkey",
            operation="add",
        )
        >= 1
    )

    # A renewal moves the expiry; an appliance error shows up with its errorcode.
    renewed = cluster.pki.leaf("www.example.com", days=120)
    cluster.renew("www", renewed)
    target = renewed.cert.not_valid_after_utc.timestamp()
    wait_for(
        lambda: (
            value(scrape(port), "certsync_certificate_expiration_timestamp_seconds", certkey="default-www")
            == target
        ),
        what="expiry of the renewed certificate",
    )
    admin(
        cluster.simulator,
        "POST",
        "faults",
        {
            "kind": "error",
            "resource": "sslcertkey",
            "method": "GET",
            "status": 599,
            "errorcode": 1540,
            "times": 1,
        },
    )
    cluster.patch_sync(
        "www", {"metadata": {"annotations": {"netscaler.certsync.dev/sync-requested-at": "now"}}}
    )
    wait_for(
        lambda: (
            value(scrape(port), "certsync_nitro_requests_total", resource="sslcertkey", errorcode="1540") == 1
        ),
        what="errorcode label",
    )

    # Deleting the sync drops its per-resource series.
    cluster.crs.delete_namespaced_custom_object(
        "netscaler.certsync.dev", "v1alpha1", "default", "certificatesyncs", "www"
    )
    wait_for(
        lambda: value(scrape(port), "certsync_resource_ready", kind="CertificateSync", name="www") is None,
        what="series dropped",
    )
    assert (
        value(scrape(port), "certsync_certificate_expiration_timestamp_seconds", certkey="default-www")
        is None
    )
