"""netscaler-certbot-hook (PyPI, pinned) against the simulator: deploy, link, no-op rerun, renew.

The hook authenticates per request (X-NITRO-USER/X-NITRO-PASS), uploads to /nsconfig/ssl, adds
the chain certkey named after the chain's CN, adds or updates (`?action=update`, JSON
`nodomaincheck: true`) the certificate, links it and saves; it compares serials as
`int(serial, 16)`. A fidelity change that breaks any of that fails here.
"""

from __future__ import annotations

from pathlib import Path

from certsync_devkit.pki import Issued, TestPKI
from netscaler_certsync.simulator import SimulatorThread

from .clients import certbot_hook, check_netscaler

T0 = 1_700_000_000.0  # the hook's clock (file names carry it)
CHAIN = "Third Party Intermediate CA"  # the hook names the chain certkey after its CN


def live_dir(root: Path, pki: TestPKI, leaf: Issued) -> Path:
    """What certbot leaves in /etc/letsencrypt/live/<name>/."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "cert.pem").write_bytes(leaf.cert_pem)
    (root / "privkey.pem").write_bytes(leaf.key_pem)
    (root / "chain.pem").write_bytes(pki.intermediate.cert_pem)
    return root


def writes(sim: SimulatorThread) -> list[str]:
    return [f"{r.method} {r.resource} {r.action or ''}".strip() for r in sim.requests if r.method != "GET"]


def test_deploy_link_rerun_and_renew(appliance: SimulatorThread, pki: TestPKI, tmp_path: Path) -> None:
    sim = appliance
    first = pki.leaf("shop.example.com")
    run = certbot_hook(sim, live_dir(tmp_path / "v1", pki, first), "shop", T0)
    assert run.code == 0, run.output
    dump = sim.state.dump()
    assert dump["certkeys"]["shop"]["serial"] == first.serial_hex
    assert dump["certkeys"][CHAIN]["serial"] == pki.intermediate.serial_hex
    assert dump["links"] == {"shop": CHAIN}
    assert dump["saved"]["certkeys"]["shop"]["linkcertkeyname"] == CHAIN and not dump["configchanged"]
    assert {"/nsconfig/ssl/shop-1700000000.crt", "/nsconfig/ssl/shop-1700000000.key"} <= set(dump["files"])

    sim.clear_requests()  # a rerun with the same certificate: reads only
    run = certbot_hook(sim, tmp_path / "v1", "shop", T0 + 60)
    assert run.code == 0, run.output
    assert writes(sim) == [] and "nothing to do" in run.output

    renewed = pki.leaf("shop.example.com")
    sim.clear_requests()
    run = certbot_hook(sim, live_dir(tmp_path / "v2", pki, renewed), "shop", T0 + 120)
    assert run.code == 0, run.output
    assert writes(sim) == [
        "POST systemfile",
        "POST systemfile",
        "POST sslcertkey update",
        "POST sslcertkey link",  # already linked: the hook takes the 409 as "link was present"
        "POST nsconfig save",
    ]
    dump = sim.state.dump()
    assert dump["certkeys"]["shop"]["serial"] == renewed.serial_hex
    assert dump["certkeys"]["shop"]["cert"] == "/nsconfig/ssl/shop-1700000120.crt"
    assert dump["links"] == {"shop": CHAIN} and not dump["configchanged"]


def test_monitoring_sees_what_the_hook_deployed(
    appliance: SimulatorThread, pki: TestPKI, tmp_path: Path
) -> None:
    sim = appliance
    run = certbot_hook(sim, live_dir(tmp_path, pki, pki.leaf("mon.example.com", days=90)), "mon", T0)
    assert run.code == 0, run.output
    lifetime = check_netscaler(sim, "-C", "sslcert", "-w", "30", "-c", "10", "-l", "^mon$")
    assert lifetime.code == 0 and "OK - 1 certificate(s) OK" in lifetime.output, lifetime.output
    saved = check_netscaler(sim, "-C", "nsconfig")
    assert saved.code == 0 and "No unsaved configuration changes" in saved.output, saved.output
