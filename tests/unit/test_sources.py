"""How the operator reads one Secret into a certificate (reconcile/sources.py through k8s/secrets.py).

Each Secret becomes parsed material or one named problem with a message that says what is wrong
with that Secret, and never its content. The reasons and messages are the ones users see in the
certificate's status entry, the SecretsValid condition and the Event.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from certsync_devkit import k8s_builders as build
from certsync_devkit.pki import TestPKI
from netscaler_certsync.reconcile.context import OperatorContext
from netscaler_certsync.reconcile.sources import to_source


async def _no_secret(namespace: str, name: str) -> None:
    return None


async def _no_secrets(namespace: str, selector: str) -> list[Any]:
    return []


NOW = dt.datetime.now(dt.UTC)
CTX = OperatorContext(get_secret=_no_secret, list_secrets=_no_secrets, clock=lambda: NOW)


@pytest.fixture(scope="module")
def pki() -> TestPKI:
    return TestPKI.create()


def _read(secret: dict[str, Any] | None, include_ca_crt: bool = False) -> tuple[str | None, str]:
    source = to_source("default", "web", secret, None, CTX, include_ca_crt)
    return source.reason, source.message


def test_a_good_secret_becomes_material(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.tls_secret("web", leaf.cert_pem + pki.intermediate.cert_pem, leaf.key_pem)
    secret["metadata"]["resourceVersion"] = "42"
    source = to_source("default", "web", secret, None, CTX)
    assert source.material is not None and source.material.leaf.serial == leaf.serial_hex
    assert (source.reason, source.resource_version) == (None, "42")


def test_data_that_is_not_base64_is_named_as_such(pki: TestPKI) -> None:
    # A real API server refuses such a Secret; an emulator or a hand-made object may not.
    leaf = pki.leaf("www.example.com")
    secret = build.tls_secret("web", leaf.cert_pem, leaf.key_pem)
    secret["data"]["tls.crt"] = "not base64!"
    assert _read(secret) == ("InvalidSecretData", "Secret default/web: 'tls.crt' is not valid base64")


def test_ca_crt_is_read_only_when_asked(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.tls_secret("web", leaf.cert_pem, leaf.key_pem)
    secret["data"]["ca.crt"] = "not base64!"
    assert _read(secret) == (None, "")
    assert _read(secret, include_ca_crt=True) == (
        "InvalidSecretData",
        "Secret default/web: 'ca.crt' is not valid base64",
    )


def test_wrong_type_keeps_its_reason_and_message(pki: TestPKI) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.opaque_secret("web", {"tls.crt": leaf.cert_pem, "tls.key": leaf.key_pem})
    expected = (
        "Secret default/web has type 'Opaque', expected kubernetes.io/tls; "
        "set source to read an Opaque Secret"
    )
    assert _read(secret) == ("WrongSecretType", expected)
    del secret["type"]  # no type is Opaque to the API server; the message said "type None"
    assert _read(secret) == ("WrongSecretType", expected)


@pytest.mark.parametrize(
    ("data", "reason", "message"),
    [
        ({"tls.crt": ""}, "MissingData", "Secret default/web: tls.crt is empty"),
        ({"tls.key": None}, "MissingData", "Secret default/web: tls.key is empty"),  # no such key
        (
            {"tls.crt": base64.b64encode(b"no pem").decode()},
            "InvalidPEM",
            "Secret default/web: tls.crt holds no PEM certificate",
        ),
    ],
)
def test_content_problems_keep_their_reasons_and_messages(
    pki: TestPKI, data: dict[str, Any], reason: str, message: str
) -> None:
    leaf = pki.leaf("www.example.com")
    secret = build.tls_secret("web", leaf.cert_pem, leaf.key_pem)
    secret["data"] = {k: v for k, v in (secret["data"] | data).items() if v is not None}
    assert _read(secret) == (reason, message)


def test_a_missing_secret() -> None:
    assert _read(None) == ("SecretNotFound", "Secret default/web does not exist")
