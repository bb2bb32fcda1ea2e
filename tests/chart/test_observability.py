"""The optional PrometheusRule and Grafana dashboard use only metrics the operator really exports."""

from __future__ import annotations

import json
import re

from netscaler_certsync.metrics import Metrics

from .chart_helpers import Render

_METRIC = re.compile(r"\bcertsync_[a-z_]+")


def exported_names() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names |= {sample.name for sample in family.samples}
    # Histograms export _bucket/_count/_sum even before the first observation.
    names |= {f"{n}_{suffix}" for n in names for suffix in ("bucket", "count", "sum", "total")}
    return names


def test_off_by_default(render: Render) -> None:
    kinds = {d["kind"] for d in render()}
    assert "PrometheusRule" not in kinds
    assert not [
        d for d in render() if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")
    ]


def test_alerts_cover_expiry_sync_and_connection(render: Render) -> None:
    docs = render(metrics__prometheusRule__enabled=True, metrics__prometheusRule__expiryWarningDays=21)
    [rule] = [d for d in docs if d["kind"] == "PrometheusRule"]
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert set(alerts) == {
        "NetScalerCertificateExpiringSoon",
        "NetScalerCertificateSyncFailing",
        "NetScalerConnectionDown",
        "NetScalerCertsyncOperatorAbsent",
    }
    # absent(): an operator that is gone exports nothing, so the other alerts cannot fire
    assert alerts["NetScalerCertsyncOperatorAbsent"]["expr"] == "absent(certsync_build_info)"
    assert str(21 * 86400) in alerts["NetScalerCertificateExpiringSoon"]["expr"]
    used = {m for r in alerts.values() for m in _METRIC.findall(r["expr"])}
    assert used and used <= exported_names(), used - exported_names()


def test_dashboard_queries_exported_metrics(render: Render) -> None:
    docs = render(metrics__grafanaDashboard__enabled=True)
    [cm] = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-dashboard")]
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["netscaler-certsync.json"])
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in _METRIC.findall(e)}
    assert len(exprs) >= 6
    assert used <= exported_names(), used - exported_names()
    assert "certsync_certificate_expiration_timestamp_seconds" in used
