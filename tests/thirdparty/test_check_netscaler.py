"""check_netscaler (PyPI, pinned) against the simulator: certificate lifetime and unsaved changes.

It logs in with a session (the NITRO_AUTH_TOKEN or sessionid cookie), reads `sslcertkey`
(`daystoexpiration`) and `nsconfig` (`configchanged`) and exits with Nagios codes.
"""

from __future__ import annotations

import base64
import ssl

import httpx

from certsync_devkit.pki import TestPKI
from netscaler_certsync.simulator import SimulatorThread

from .clients import check_netscaler


def admin(sim: SimulatorThread) -> httpx.Client:
    """Someone at the appliance by hand (per-request credentials)."""
    auth = {"X-NITRO-USER": "nsroot", "X-NITRO-PASS": "nsroot"}
    trust = ssl.create_default_context(cafile=str(sim.ca_file))
    return httpx.Client(base_url=sim.url, verify=trust, headers=auth, timeout=10)


def install(sim: SimulatorThread, name: str, pem: bytes, key: bytes) -> None:
    with admin(sim) as http:
        for suffix, data in (("crt", pem), ("key", key)):
            content = base64.b64encode(data).decode()
            body = {"filename": f"{name}.{suffix}", "filelocation": "/nsconfig/ssl", "filecontent": content}
            http.post("/nitro/v1/config/systemfile", json={"systemfile": body}).raise_for_status()
        body = {"certkey": name, "cert": f"{name}.crt", "key": f"{name}.key"}
        http.post("/nitro/v1/config/sslcertkey", json={"sslcertkey": body}).raise_for_status()


def test_a_certificate_about_to_expire_is_critical(appliance: SimulatorThread, pki: TestPKI) -> None:
    leaf = pki.leaf("soon.example.com", days=5)
    install(appliance, "soon", leaf.cert_pem, leaf.key_pem)
    run = check_netscaler(appliance, "-C", "sslcert", "-w", "30", "-c", "10", "-l", "^soon$")
    assert run.code == 2, run.output
    assert "soon expires in" in run.output


def test_unsaved_changes_warn_until_saved(appliance: SimulatorThread, pki: TestPKI) -> None:
    leaf = pki.leaf("unsaved.example.com")
    install(appliance, "unsaved", leaf.cert_pem, leaf.key_pem)
    run = check_netscaler(appliance, "-C", "nsconfig")
    assert run.code == 1 and "Unsaved configuration changes detected" in run.output, run.output
    with admin(appliance) as http:
        http.post("/nitro/v1/config/nsconfig?action=save", json={"nsconfig": {}}).raise_for_status()
    run = check_netscaler(appliance, "-C", "nsconfig")
    assert run.code == 0, run.output
