"""Sessions a killed operator never logged out of must idle out soon (issue 14 defect 8).

A kill -9 skips the logout. Without a login `timeout` each such session lived NetScaler's default
30 minutes, and after about 20 restarts every login was refused with 445. The client now sends an
idle timeout; the simulator (fake clock, per-user limit as on newer builds) drops the leaked
sessions after it and the next operator logs in.
"""

from __future__ import annotations

import pytest

from netscaler_certsync.nitro import Credentials, NitroClient, RetryPolicy, TLSConfig, errors
from netscaler_certsync.simulator import Simulator, SimulatorConfig, run_simulator

LIMIT = 5  # `maxsessionperuser` on the appliance


def _client(sim: Simulator, **credentials: object) -> NitroClient:
    return NitroClient(
        sim.url,
        Credentials("nsroot", "nsroot", **credentials),  # type: ignore[arg-type]
        tls=TLSConfig(ca_pem=sim.ca_pem),
        retry=RetryPolicy(attempts=1),
    )


async def test_sessions_leaked_by_killed_operators_idle_out_and_the_next_login_works() -> None:
    ticks = [0.0]
    config = SimulatorConfig(log_requests=False, max_sessions_per_user=LIMIT)
    async with run_simulator(config) as sim:
        sim.app.sessions._clock = lambda: ticks[0]  # a fake clock, as in tests/simulator/test_sessions.py
        killed = []
        for _ in range(LIMIT):  # LIMIT operator processes, each killed after its first request
            client = _client(sim)
            await client.version()
            killed.append(client)
        [timeout] = {s.timeout for s in sim.app.sessions.sessions.values()}
        assert timeout < config.session_timeout  # shorter than NetScaler's own 30 minutes
        with pytest.raises(errors.APIError) as caught:
            await _client(sim).version()
        assert caught.value.errorcode == 445
        ticks[0] = timeout + 1
        async with _client(sim) as fresh:
            assert (await fresh.version()).release
        for client in killed:  # only now: a killed process never logged out
            await client.close()


async def test_the_timeout_is_configurable_and_can_be_left_to_the_appliance() -> None:
    async with (
        run_simulator(SimulatorConfig(log_requests=False)) as sim,
        _client(sim, session_timeout=120) as short,
        _client(sim, session_timeout=None) as default,
    ):
        await short.version()
        await default.version()
        assert sorted(s.timeout for s in sim.app.sessions.sessions.values()) == [120, 1800]
