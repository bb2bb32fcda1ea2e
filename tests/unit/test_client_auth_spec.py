"""`bindings[].clientAuth` as the operator reads it: the spec, the watches it asks for, and the
records of the CA bindings it made (which round-trip through status)."""

from __future__ import annotations

from typing import Any

import pytest

from netscaler_certsync.engine import ClientCARecord, Records
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.specs import BundleRef, parse_sync
from netscaler_certsync.reconcile.triggers import TriggerIndex, trigger_of

CM = {"configMapKeyRef": {"name": "trust", "key": "trust-bundle.pem"}}
SECRET = {"secretKeyRef": {"name": "client-ca", "key": "ca.crt"}}


def spec(*bindings: dict[str, Any]) -> dict[str, Any]:
    return {
        "connectionRefs": [{"name": "adc"}],
        "certificates": [{"secretName": "www"}],
        "bindings": list(bindings),
    }


def test_clientauth_is_parsed_with_its_checks() -> None:
    parsed = parse_sync(spec({"vserver": "vs", "clientAuth": {"caFrom": CM, "ocspCheck": "Mandatory"}}))
    auth = parsed.bindings[0].client_auth
    assert auth is not None
    assert auth.ca_from == BundleRef("ConfigMap", "trust", "trust-bundle.pem")
    assert (auth.crl_check, auth.ocsp_check) == (None, "Mandatory")


@pytest.mark.parametrize(
    ("client_auth", "message"),
    [
        ({"caFrom": {**CM, **SECRET}}, "exactly one of secretKeyRef or configMapKeyRef"),
        ({"caFrom": {}}, "exactly one of secretKeyRef or configMapKeyRef"),
        ({}, "caFrom is required"),
        ({"caFrom": {"secretKeyRef": {"name": "s"}}}, "key is required"),
        ({"caFrom": CM, "crlCheck": "Required"}, "must be Mandatory or Optional"),
    ],
)
def test_bad_clientauth_is_invalid_spec(client_auth: dict[str, Any], message: str) -> None:
    # A server without the CRD's CEL rules (or an emulator) must not get past the operator either.
    with pytest.raises(ReconcileError, match=message):
        parse_sync(spec({"vserver": "vs", "clientAuth": client_auth}))


def test_one_clientauth_per_vserver() -> None:
    with pytest.raises(ReconcileError, match="has clientAuth twice"):
        parse_sync(
            spec(
                {"vserver": "vs", "clientAuth": {"caFrom": CM}},
                {"vserver": "vs", "sni": True, "clientAuth": {"caFrom": SECRET}},
            )
        )


def test_bundles_are_watched_by_name_and_a_configmap_change_finds_its_syncs() -> None:
    trig = trigger_of(
        spec(
            {"vserver": "a", "clientAuth": {"caFrom": CM}}, {"vserver": "b", "clientAuth": {"caFrom": SECRET}}
        )
    )
    assert trig.configmaps == {"trust"}
    assert "client-ca" in trig.named_watches and "client-ca" in trig.secrets  # any Secret type: by name
    index = TriggerIndex()
    changes: list[int] = []
    index.on_change = lambda: changes.append(1)
    index.update("ns", "s1", spec({"vserver": "a", "clientAuth": {"caFrom": CM}}))
    index.update("ns", "s2", spec({"vserver": "a"}))
    assert index.syncs_for_configmap("ns", "trust") == ["s1"]
    assert index.syncs_for_configmap("other", "trust") == []
    before = len(changes)
    index.update("ns", "s1", spec({"vserver": "a"}))  # clientAuth removed: the watch must follow
    assert len(changes) == before + 1 and index.syncs_for_configmap("ns", "trust") == []


def test_records_of_ca_bindings_round_trip() -> None:
    records = Records(client_cas=(ClientCARecord("vs", "csca-1"), ClientCARecord("vs", "csca-2")))
    again = Records.from_dict(records.to_dict())
    assert again == records
    assert "clientCAs" not in Records().to_dict()  # nothing new in the status of a sync without it


def test_a_first_list_is_compared_with_the_versions_read_before_it() -> None:
    index = TriggerIndex()
    cm = "configmaps"
    assert not index.read_other(cm, "ns", "trust", "5"), "nothing read yet: the reconcile reads what is there"
    index.read(cm, "ns", "trust", "5")
    assert not index.read_other(cm, "ns", "trust", "5"), "the version listed is the one read"
    index.read(cm, "ns", "trust", "5")
    assert index.read_other(cm, "ns", "trust", "7"), "changed in between"
    assert not index.read_other(cm, "ns", "trust", "7"), "compared once: the reads are forgotten"
    index.read(cm, "ns", "trust", None)  # read while absent, created before the first list
    assert index.read_other(cm, "ns", "trust", "8")
    index.read(cm, "ns", "trust", "8")  # read, then deleted before the first list
    assert index.read_other(cm, "ns", "trust", None)
    index.read(cm, "ns", "trust", "3")
    index.reported(cm, "ns", "trust")  # a reported change marks the syncs: they read again
    assert not index.read_other(cm, "ns", "trust", "9")
    index.read(cm, "ns", "trust", "3")
    assert not index.read_other("secrets", "ns", "trust", "9"), "a Secret is not the ConfigMap of its name"
    index.read("secrets", "ns", "a", "1")
    index.forget_reads("secrets", "ns", "a")  # its watch by name stopped
    assert not index.read_other("secrets", "ns", "a", "2")
    assert index.read_other(cm, "ns", "trust", "9"), "a Secret's reads are not the ConfigMap's"


def test_a_first_list_without_reads_marks_only_syncs_no_reconcile_reads_and_each_once() -> None:
    index = TriggerIndex()
    named = {"certificates": [{"secretName": "a"}, {"secretName": "b"}]}
    index.update("ns", "resumed", named, resumed=True)
    assert index.unreconciled("ns", "a") == [], "kopf's resume reconciles it: its reads are to come"
    index.update("ns", "moved-in", named)
    assert index.unreconciled("ns", "a") == ["moved-in"], "moved into the shard: reconciled by nobody"
    assert not index.read_other("secrets", "ns", "a", "5"), "nothing read: no change"
    index.read("secrets", "ns", "a", "5")
    assert not index.read_other("secrets", "ns", "a", "5"), "read as listed"
    index.reconciling("ns", "moved-in")  # marked by a's first list: its reconcile reads b too
    assert index.unreconciled("ns", "b") == []
    index.reconciling("ns", "moved-in", marked=False)  # the mark failed: b's first list marks it
    assert index.unreconciled("ns", "b") == ["moved-in"]
    index.update("ns", "manual", {**named, "autoSync": False})
    assert index.unreconciled("ns", "b") == ["moved-in"], "without autoSync no Secret marks it"
    index.remove("ns", "moved-in")
    index.reconciling("ns", "moved-in")  # a mark that raced its removal is not kept
    index.update("ns", "moved-in", named)
    assert index.unreconciled("ns", "a") == ["moved-in"], "moved out and in again: marked again"
