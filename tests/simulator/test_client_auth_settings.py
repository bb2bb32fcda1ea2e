"""`sslvserver` client authentication (clientauth, clientcert): set, shown, saved, kept on reboot."""

from __future__ import annotations

from netscaler_certsync.simulator import Simulator
from tests.simulator.helpers import Nitro, assert_done, assert_error


async def shown(nitro: Nitro, vserver: str = "vs_https") -> dict:
    return (await nitro.get(f"sslvserver/{vserver}")).json()["sslvserver"][0]


async def test_client_auth_is_off_until_enabled_then_mandatory_or_as_asked(nitro: Nitro) -> None:
    assert (await shown(nitro))["clientauth"] == "DISABLED"
    assert "clientcert" not in await shown(nitro)
    body = {"sslvserver": {"vservername": "vs_https", "clientauth": "ENABLED"}}
    assert_done(await nitro.put("sslvserver", body))
    assert ((await shown(nitro))["clientauth"], (await shown(nitro))["clientcert"]) == (
        "ENABLED",
        "Mandatory",
    )
    body = {"sslvserver": {"vservername": "vs_https", "clientcert": "optional"}}
    assert_done(await nitro.put("sslvserver", body))
    assert (await shown(nitro))["clientcert"] == "Optional"
    body = {"sslvserver": {"vservername": "vs_https", "clientauth": "DISABLED"}}
    assert_done(await nitro.put("sslvserver", body))
    assert (await shown(nitro))["clientauth"] == "DISABLED"


async def test_an_unknown_client_cert_mode_is_refused(nitro: Nitro) -> None:
    body = {"sslvserver": {"vservername": "vs_https", "clientauth": "ENABLED", "clientcert": "Sometimes"}}
    assert_error(await nitro.put("sslvserver", body), 400, 1097)
    assert (await shown(nitro))["clientauth"] == "DISABLED"


async def test_client_auth_is_configuration_a_reboot_keeps_only_when_saved(
    sim: Simulator, nitro: Nitro
) -> None:
    body = {"sslvserver": {"vservername": "vs_https", "clientauth": "ENABLED", "clientcert": "Mandatory"}}
    assert_done(await nitro.put("sslvserver", body))
    assert sim.state.default.configchanged
    sim.reboot()
    assert (await nitro.login()).status_code == 201  # a restart ends every session
    assert (await shown(nitro))["clientauth"] == "DISABLED"
    assert_done(await nitro.put("sslvserver", body))
    sim.state.default.save()
    sim.reboot()
    assert (await nitro.login()).status_code == 201  # a restart ends every session
    assert (await shown(nitro))["clientcert"] == "Mandatory"
