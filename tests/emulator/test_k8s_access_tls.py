"""ClusterAccess over real TLS on loopback: CA pinning, client certificates, kubeconfig data fields.

The emulator speaks plain HTTP, so this uses a tiny aiohttp HTTPS server that demands a client
certificate from its own CA and echoes the client's CN, as an API server's x509 authn would.
"""

from __future__ import annotations

import base64
import datetime as dt
import ssl
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp.web
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certsync_devkit.pki import Issued, make_ca, new_key, server_certificate
from netscaler_certsync.k8s import ClusterAccess, KubeClient, TransportError


def client_certificate(ca: Issued, cn: str) -> Issued:
    """A clientAuth certificate (the PKI helper issues serverAuth leaves only)."""
    key = new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)


@pytest.fixture()
async def https_api() -> AsyncIterator[tuple[str, Issued, Issued]]:
    """(url, server CA, client CA) of an HTTPS server that requires a client certificate."""
    server_ca, server = server_certificate()
    client_ca = make_ca("Client CA")

    async def whoami(request: aiohttp.web.Request) -> aiohttp.web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        cn = dict(x[0] for x in peer["subject"])["commonName"] if peer else None
        meta = {"name": request.match_info["name"], "namespace": "default", "annotations": {"cn": cn}}
        return aiohttp.web.json_response({"kind": "Secret", "metadata": meta})

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "s.crt").write_bytes(server.cert_pem)
        (Path(tmp) / "s.key").write_bytes(server.key_pem)
        ctx.load_cert_chain(Path(tmp) / "s.crt", Path(tmp) / "s.key")
    ctx.load_verify_locations(cadata=client_ca.cert_pem.decode())
    ctx.verify_mode = ssl.CERT_REQUIRED
    app = aiohttp.web.Application()
    app.router.add_get("/api/v1/namespaces/default/secrets/{name}", whoami)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}", server_ca, client_ca
    finally:
        await runner.cleanup()


async def test_client_certificate_and_pinned_ca(https_api: tuple[str, Issued, Issued]) -> None:
    url, server_ca, client_ca = https_api
    me = client_certificate(client_ca, "system:netscaler-certsync")
    access = ClusterAccess(url, ca_data=server_ca.cert_pem, client_cert=me.cert_pem, client_key=me.key_pem)
    async with KubeClient(access) as api:
        secret = await api.get_secret("default", "web")
    assert secret["metadata"]["annotations"]["cn"] == "system:netscaler-certsync"


async def test_an_unknown_server_ca_is_a_transport_error(https_api: tuple[str, Issued, Issued]) -> None:
    url, _server_ca, client_ca = https_api
    me = client_certificate(client_ca, "x")
    other_ca = make_ca("Someone Else")
    access = ClusterAccess(url, ca_data=other_ca.cert_pem, client_cert=me.cert_pem, client_key=me.key_pem)
    async with KubeClient(access) as api:
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            await api.get_secret("default", "web")


async def test_kubeconfig_data_fields_and_insecure(
    https_api: tuple[str, Issued, Issued], tmp_path: Path
) -> None:
    url, _server_ca, client_ca = https_api
    me = client_certificate(client_ca, "from-kubeconfig")

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "{url}", insecure-skip-tls-verify: true}}
users:
- name: u
  user: {{client-certificate-data: {b64(me.cert_pem)}, client-key-data: {b64(me.key_pem)}}}
contexts:
- name: x
  context: {{cluster: c, user: u}}
current-context: x
"""
    )
    access = ClusterAccess.from_kubeconfig(kubeconfig)
    assert access.insecure and access.namespace == "default"
    async with KubeClient(access) as api:
        secret = await api.get_secret("default", "web")
    assert secret["metadata"]["annotations"]["cn"] == "from-kubeconfig"
