"""Sessions, TLS trust and concurrency against the simulator over real HTTPS."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig, errors
from netscaler_certsync.simulator import FaultRule, Simulator
from tests.support.nitro import ClientFactory


def resources(sim: Simulator) -> list[str]:
    return [r.resource for r in sim.requests]


async def test_one_lazy_session_reused_then_logged_out(sim: Simulator, make_client: ClientFactory) -> None:
    async with make_client() as client:
        assert sim.requests == []
        await client.version()
        await client.ha_state()
        await client.list_ssl_vservers()
        assert len(sim.app.sessions.sessions) == 1
    assert resources(sim) == ["login", "nsversion", "hanode", "sslvserver", "logout"]
    assert sim.app.sessions.sessions == {}  # nothing left to count against the 20-session limit


async def test_expired_session_is_renewed_once(sim: Simulator, make_client: ClientFactory) -> None:
    async with make_client() as client:
        await client.version()
        assert sim.expire_sessions() == 1
        version = await client.version()
        assert client.logins == 2
    assert version.release == "13.1"
    statuses = [(r.resource, r.status, r.errorcode) for r in sim.requests]
    assert statuses == [
        ("login", 201, 0),
        ("nsversion", 200, 0),
        ("nsversion", 401, 444),
        ("login", 201, 0),
        ("nsversion", 200, 0),
        ("logout", 201, 0),
    ]


async def test_session_expiring_mid_batch_costs_one_login(sim: Simulator, make_client: ClientFactory) -> None:
    async with make_client(max_concurrency=4) as client:
        await client.version()
        sim.expire_sessions()
        await asyncio.gather(*(client.list_certkeys() for _ in range(20)))
        assert client.logins == 2


async def test_wrong_password(sim: Simulator, make_client: ClientFactory) -> None:
    async with make_client(credentials=Credentials("nsroot", "wrong-pw")) as client:
        with pytest.raises(errors.AuthenticationError) as caught:
            await client.version()
    assert (caught.value.status, caught.value.errorcode) == (401, 354)
    assert "wrong-pw" not in str(caught.value)
    assert resources(sim) == ["login"]


async def test_partition_switch_at_login(sim: Simulator, make_client: ClientFactory) -> None:
    async with make_client(partition="p1") as client:
        await client.upload_file("only-in-p1.txt", b"p1 data")  # the partition's own directory
        assert sim.expire_sessions() == 1
        files = await client.list_files()  # new session: must be back in p1
    assert "only-in-p1.txt" in {f.filename for f in files}
    assert resources(sim).count("nspartition") == 2


async def test_tls_fails_without_the_ca(sim: Simulator) -> None:
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot")) as client:
        with pytest.raises(errors.TLSVerificationError):
            await client.version()
    assert sim.requests == []  # not retried, nothing reached the appliance


@pytest.mark.parametrize(
    "tls_kwargs",
    [{"server_name": "localhost"}, {}],
    ids=["server-name-in-cert", "ip-in-cert"],
)
async def test_tls_passes_with_the_ca(sim: Simulator, tls_kwargs: dict[str, str]) -> None:
    tls = TLSConfig(ca_file=str(sim.ca_file), **tls_kwargs)
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=tls) as client:
        assert (await client.version()).release == "13.1"


async def test_tls_fails_when_the_expected_name_is_not_in_the_cert(sim: Simulator) -> None:
    tls = TLSConfig(ca_pem=sim.ca_pem, server_name="ns.other.example")
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=tls) as client:
        with pytest.raises(errors.TLSVerificationError):
            await client.version()


async def test_insecure_mode_connects_without_the_ca(sim: Simulator) -> None:
    tls = TLSConfig(insecure=True)
    async with NitroClient(sim.url, Credentials("nsroot", "nsroot"), tls=tls) as client:
        assert (await client.version()).release == "13.1"


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts requests on the wire at the same time (the client's concurrency, seen from below)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_fifty_callers_share_one_session_and_the_concurrency_cap(sim: Simulator) -> None:
    sim.faults.add(FaultRule(kind="latency", resource="sslcertkey", delay=0.01))
    assert sim.ca_pem is not None
    trust = ssl.create_default_context(cadata=sim.ca_pem.decode())
    counting = CountingTransport(httpx.AsyncHTTPTransport(verify=trust))
    async with NitroClient(
        sim.url, Credentials("nsroot", "nsroot"), max_concurrency=4, transport=counting
    ) as client:
        await asyncio.gather(*(client.list_certkeys() for _ in range(50)))
        assert len(sim.app.sessions.sessions) == 1
    assert counting.peak == 4  # the cap was reached, and never exceeded
    assert resources(sim).count("login") == 1
    assert resources(sim).count("sslcertkey") == 50


@pytest.mark.parametrize("role, primary", [("secondary", False), ("primary", True)])
async def test_ha_role_of_the_node_we_talk_to(role: str, primary: bool) -> None:
    from netscaler_certsync.simulator import SimulatorConfig, run_simulator

    config = SimulatorConfig(ha_state=role, log_requests=False)  # type: ignore[arg-type]
    async with run_simulator(config) as node:
        client = NitroClient(node.url, Credentials("nsroot", "nsroot"), tls=TLSConfig(ca_pem=node.ca_pem))
        async with client:
            ha = await client.ha_state()
    assert ha.configured
    assert ha.local_state == role.capitalize()
    assert ha.is_primary is primary
    assert len(ha.nodes) == 2


async def test_unknown_partition_fails_login_without_leaving_a_session(
    sim: Simulator, make_client: ClientFactory
) -> None:
    async with make_client(partition="no-such-partition") as client:
        with pytest.raises(errors.APIError):
            await client.list_certkeys()
        assert not client.logged_in
    assert [r.resource for r in sim.requests] == ["login", "nspartition", "logout"]
    assert sim.app.sessions.sessions == {}
