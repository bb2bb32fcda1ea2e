"""Parsing a client-authentication CA bundle (domain.client_ca): what is trusted, and what is refused."""

from __future__ import annotations

import pytest

from certsync_devkit.pki import make_ca, make_leaf, pem_bundle
from netscaler_certsync.domain import MaterialError, reasons
from netscaler_certsync.domain.client_ca import parse_ca_bundle


def test_a_bundle_is_its_distinct_cas_in_a_stable_order() -> None:
    one, two = make_ca("Client CA One"), make_ca("Client CA Two")
    parsed = parse_ca_bundle(pem_bundle([one, two, one]))
    assert sorted(c.subject for c in parsed) == sorted(
        [one.cert.subject.rfc4514_string(), two.cert.subject.rfc4514_string()]
    )
    # trust-manager may order the bundle differently on each write: that is no change
    assert parse_ca_bundle(pem_bundle([two, one])) == parsed
    assert parse_ca_bundle(pem_bundle([one, two]).decode()) == parsed


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", reasons.MissingData),
        (b"   \n", reasons.MissingData),
        (b"not a certificate", reasons.InvalidPEM),
    ],
)
def test_an_empty_or_unreadable_bundle_is_named(data: bytes, reason: str) -> None:
    with pytest.raises(MaterialError) as err:
        parse_ca_bundle(data, "ConfigMap shop/trust key ca.crt")
    assert err.value.reason == reason
    assert "ConfigMap shop/trust key ca.crt" in str(err.value)


def test_a_leaf_in_the_bundle_is_refused() -> None:
    ca = make_ca("Client CA")
    leaf = make_leaf(ca, "alice", client=True)
    with pytest.raises(MaterialError) as err:
        parse_ca_bundle(pem_bundle([ca, leaf]))
    assert err.value.reason == reasons.ChainInvalid
    assert "alice" in str(err.value)
