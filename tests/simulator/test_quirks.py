"""Each `Quirks` alternative (the other answer real builds give where nitro.md is unsure) and the
remaining error rows (1092, 3628) and double-encoded `args` values."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certsync_devkit.pki import Issued, TestPKI, new_key
from netscaler_certsync.simulator import Quirks, SimulatorConfig, run_simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error


@asynccontextmanager
async def appliance(**quirks: object) -> AsyncIterator[Nitro]:
    config = SimulatorConfig(https=False, quirks=Quirks(**quirks), sni_vservers=("vs_https",))  # type: ignore[arg-type]
    async with run_simulator(config) as sim, httpx.AsyncClient(base_url=sim.url) as http:
        nitro = Nitro(http)
        assert (await nitro.login()).status_code == 201
        yield nitro
        assert sim.check_invariants() == []


async def test_add_and_logout_status_200() -> None:
    async with appliance(add_status=200, logout_status=200) as nitro:
        assert_done(await nitro.upload("a", b"x"), 200)
        assert_done(await nitro.post("logout", {"logout": {}}), 200)


async def test_empty_arrays_and_string_counts() -> None:
    async with appliance(omit_empty_arrays=False, count_as_number=False) as nitro:
        assert (await nitro.get("sslcertlink")).json()["sslcertlink"] == []
        assert (await nitro.get("sslcertkey?count=yes")).json()["sslcertkey"] == [{"__count": "1"}]


async def test_empty_write_bodies() -> None:
    async with appliance(empty_write_bodies=True) as nitro:
        response = await nitro.upload("a", b"x")
        assert response.status_code == 201 and response.content == b""
        assert_error(await nitro.upload("a", b"x"), 409, 1642)  # errors keep their envelope


async def test_session_limit_status_401() -> None:
    async with appliance(session_limit_status=401) as nitro:
        for _ in range(19):
            await nitro.login()
        assert_error(await nitro.login(), 401, 445)


async def test_require_passplain_for_plain_keys(pki: TestPKI) -> None:
    async with appliance(require_passplain=True) as nitro:
        leaf = pki.leaf()
        await nitro.upload("www.crt", leaf.cert_pem)
        await nitro.upload("www.key", leaf.key_pem)
        assert_error(await nitro.add_certkey("www", "www.crt", "www.key"), 599, 1537)
        assert_done(await nitro.add_certkey("www", "www.crt", "www.key", passplain="0", password=False), 201)


async def test_override_not_supported() -> None:
    async with appliance(systemfile_override=False) as nitro:
        await nitro.upload("a", b"x")
        body = {"systemfile": {"filename": "a", "filelocation": "/nsconfig/ssl", "filecontent": "eQ=="}}
        assert_error(await nitro.post("systemfile?override=yes", body), 409, 1642)


async def test_bind_without_key_accepted(pki: TestPKI) -> None:
    async with appliance(bind_without_key="accept") as nitro:
        await nitro.install("inter", pki.intermediate, with_key=False)
        assert_done(await nitro.bind("vs_https", "inter"))


def _no_cn_certificate(issuer: Issued) -> Issued:
    key = new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("nocn.example.com")]), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key)


async def test_sni_needs_a_common_name_and_flags_exclude_each_other(pki: TestPKI) -> None:
    async with appliance() as nitro:
        await nitro.install("nocn", _no_cn_certificate(pki.intermediate))
        assert_error(await nitro.bind("vs_https", "nocn", snicert=True), 599, 3628, "CommonName not present")
        assert_error(await nitro.bind("vs_https", "nocn", snicert=True, ca=True), 400, 1092)
        assert_done(await nitro.bind("vs_https", "nocn"))  # as the default certificate it is fine


async def test_args_values_are_decoded_once_more() -> None:
    async with appliance() as nitro:
        await nitro.upload("a", b"x")
        assert_done(await nitro.get("systemfile/a?args=filelocation:%252Fnsconfig%252Fssl"))
        assert_done(await nitro.get("systemfile/a?args=filelocation:/nsconfig/ssl/"))
