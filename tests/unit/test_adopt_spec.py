"""`certificates[].adopt` as the operator reads it: the adopted certkey's name is the certificate's
certkey name, deleteOnRemoval is off unless set, and contradictions are InvalidSpec."""

from __future__ import annotations

import pytest

from netscaler_certsync.engine import Adoption
from netscaler_certsync.reconcile.errors import ReconcileError
from netscaler_certsync.reconcile.specs import parse_sync


def spec(entry: dict) -> dict:  # type: ignore[type-arg]
    return {"connectionRefs": [{"name": "adc"}], "certificates": [{"secretName": "www", **entry}]}


def test_the_adopted_name_is_the_certkey_name() -> None:
    [ref] = parse_sync(spec({"adopt": {"certKeyName": "ns-server-certificate"}})).certificates
    assert (ref.certkey_name, ref.adopt) == ("ns-server-certificate", Adoption("ns-server-certificate"))
    [ref] = parse_sync(spec({"adopt": {"certKeyName": "www", "deleteOnRemoval": True}})).certificates
    assert ref.adopt == Adoption("www", delete_on_removal=True)
    [ref] = parse_sync(spec({"certKeyName": "www"})).certificates
    assert ref.adopt is None


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"adopt": {}}, "adopt.certKeyName is required"),
        ({"certKeyName": "other", "adopt": {"certKeyName": "www"}}, "differ"),
    ],
)
def test_contradictions_are_invalid_specs(entry: dict, words: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ReconcileError) as caught:
        parse_sync(spec(entry))
    assert caught.value.reason == "InvalidSpec" and words in caught.value.message
