"""Every error class from its HTTP status and errorcode, the predicates, and what error text hides."""

from __future__ import annotations

import httpx
import pytest

from netscaler_certsync.nitro import NO_RETRY, Credentials, ErrorCode, NitroClient, TLSConfig, errors
from tests.nitro.fakes import FakeAppliance, nitro_error


@pytest.mark.parametrize(
    "status, code, message, cls, predicate",
    [
        (400, 1095, "Required argument missing [certkeyName]", errors.BadRequestError, None),
        (401, 354, "Invalid username or password", errors.AuthenticationError, None),
        (
            403,
            2138,
            "Not authorized to execute this command [add ssl certKey]",
            errors.ForbiddenError,
            errors.is_forbidden,
        ),
        (599, 2138, "Not authorized to execute this command", errors.ForbiddenError, errors.is_forbidden),
        (404, 258, "No such resource [certkey, x]", errors.NotFoundError, errors.is_not_found),
        (
            409,
            273,
            "Resource already exists [certkey, www]",
            errors.AlreadyExistsError,
            errors.is_already_exists,
        ),
        (
            409,
            1642,
            "Cannot create output file. File already exists",
            errors.AlreadyExistsError,
            errors.is_file_exists,
        ),
        (599, 1540, "Certificate does not exist", errors.NetScalerError, errors.is_cert_missing),
        (
            599,
            3585,
            "Certificate is registered to a different domain",
            errors.NetScalerError,
            errors.is_domain_mismatch,
        ),
        (
            599,
            1538,
            "Certificate and private key do not match",
            errors.NetScalerError,
            errors.is_key_mismatch,
        ),
        (
            599,
            1537,
            "Invalid private key, or PEM pass phrase required",
            errors.NetScalerError,
            errors.is_bad_key,
        ),
        (
            599,
            1541,
            "Certificate is referenced by ... vserver",
            errors.NetScalerError,
            errors.is_still_referenced,
        ),
        (599, 1542, "Certificate binding does not exist", errors.NetScalerError, errors.is_binding_missing),
        (
            599,
            1674,
            "Duplicate domain cert cannot be added.",
            errors.NetScalerError,
            errors.is_duplicate_sni_domain,
        ),
        (404, 461, "No such Vserver", errors.NotFoundError, errors.is_vserver_missing),
        (599, 1544, "Objects protocol type is not SSL", errors.NetScalerError, errors.is_vserver_missing),
        (
            599,
            1647,
            "Input file(s) not present or not accessible in current partition",
            errors.NetScalerError,
            errors.is_file_missing,
        ),
        (503, 0, "Service Unavailable", errors.ServerError, errors.is_retryable),
    ],
)
async def test_status_and_errorcode_pick_the_class(
    status: int, code: int, message: str, cls: type[errors.APIError], predicate: object
) -> None:
    fake = FakeAppliance()
    fake.on("POST", "sslcertkey", nitro_error(status, code, message))
    async with fake.client(retry=NO_RETRY) as client:
        with pytest.raises(cls) as caught:
            await client.change_certkey("www", "www.crt", "www.key")
    exc = caught.value
    assert type(exc) is cls
    assert (exc.status, exc.errorcode) == (status, code)
    assert message in str(exc) and "sslcertkey" in str(exc)
    if predicate is not None:
        assert predicate(exc)  # type: ignore[operator]
    assert errors.is_retryable(exc) == (cls is errors.ServerError)


def test_599_is_deterministic_and_never_retryable() -> None:
    exc = errors.NetScalerError(599, 1540, "Certificate does not exist")
    assert not errors.is_retryable(exc)
    assert exc.code is ErrorCode.CERT_DOES_NOT_EXIST


def test_duplicate_content_names_the_existing_certkey() -> None:
    exc = errors.AlreadyExistsError(409, 273, "Resource already exists [certkeyName Contents, old-www]")
    assert errors.is_duplicate_content(exc)
    assert errors.existing_name_for_content(exc) == "old-www"
    plain = errors.AlreadyExistsError(409, 273, "Resource already exists [certkey, www]")
    assert not errors.is_duplicate_content(plain) and errors.existing_name_for_content(plain) is None


async def test_failed_login_never_shows_the_password() -> None:
    fake = FakeAppliance()
    # A (hypothetical) appliance that echoes what it got must still not leak it through us.
    fake.on("POST", "login", nitro_error(401, 354, "Invalid username or password [nsroot, s3cret-pw]"))
    async with fake.client() as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.list_certkeys()
    assert "s3cret-pw" not in str(caught.value)
    assert "Invalid username or password" in str(caught.value)
    assert caught.value.errorcode == ErrorCode.INVALID_CREDENTIALS
    assert len(fake.sent("POST", "login")) == 1  # a wrong password is not retried


async def test_command_policy_echo_hides_passphrase_and_key_material() -> None:
    fake = FakeAppliance()
    text = (
        "Not authorized to execute this command [add ssl certKey www -cert www.crt -key www.key "
        "-passplain hunter22 -----BEGIN PRIVATE KEY-----MIIEv...-----END PRIVATE KEY-----]"
    )
    fake.on("POST", "sslcertkey", nitro_error(403, 2138, text))
    async with fake.client() as client:
        with pytest.raises(errors.ForbiddenError) as caught:
            await client.add_certkey("www", "www.crt", "www.key", passplain="hunter22")
    shown = str(caught.value)
    assert "hunter22" not in shown and "MIIEv" not in shown
    assert "add ssl certKey www" in shown


async def test_success_status_with_error_severity_is_an_error() -> None:
    fake = FakeAppliance()
    fake.on(
        "GET",
        "nsconfig",
        httpx.Response(200, json={"errorcode": 1461, "message": "busy", "severity": "ERROR"}),
    )
    async with fake.client() as client:
        with pytest.raises(errors.APIError, match="busy"):
            await client.config_state()


async def test_warning_severity_is_not_an_error() -> None:
    fake = FakeAppliance()
    fake.on(
        "PUT",
        "sslvserver_sslcertkey_binding",
        httpx.Response(
            209,
            json={
                "errorcode": 1546,
                "message": "Current certificate replaces the previous binding",
                "severity": "WARNING",
            },
            headers={"X-NITRO-WARNING": "1546 - replaces"},
        ),
    )
    async with fake.client() as client:
        await client.bind_certkey("vs", "www")


@pytest.mark.parametrize(
    "reply, cls",
    [
        (httpx.Response(200, content=b"<html>login</html>"), errors.ProtocolError),
        (httpx.Response(200, json=["not", "an", "object"]), errors.ProtocolError),
        (httpx.Response(200, json={"sslcertkey": "garbage"}), errors.ProtocolError),
        (httpx.Response(502, content=b"<html>Bad gateway</html>"), errors.ServerError),
    ],
)
async def test_unparseable_bodies(reply: httpx.Response, cls: type[errors.NitroError]) -> None:
    fake = FakeAppliance()
    fake.on("GET", "sslcertkey", reply)
    async with fake.client(retry=NO_RETRY) as client:
        with pytest.raises(cls):
            await client.list_certkeys()


def test_plain_http_needs_explicit_consent() -> None:
    with pytest.raises(errors.ConfigurationError, match="plain HTTP"):
        NitroClient("http://10.0.0.1", Credentials("u", "p"))
    NitroClient("http://10.0.0.1", Credentials("u", "p"), tls=TLSConfig(allow_http=True))


def test_a_bad_ca_bundle_is_a_configuration_error() -> None:
    with pytest.raises(errors.ConfigurationError, match="CA bundle"):
        NitroClient("https://10.0.0.1", Credentials("u", "p"), tls=TLSConfig(ca_pem="not a certificate"))


def test_credentials_repr_hides_the_password() -> None:
    assert "pw-123" not in repr(Credentials("nsroot", "pw-123"))
