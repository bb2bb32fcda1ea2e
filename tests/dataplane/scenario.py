"""The zero-downtime scenario: a client handshaking without pause with a served vserver while the
real operator renews the certificate behind it, over and over (shared by the tests and
`bench/bench_dataplane.py`).

The client judges every handshake on its own, not with the operator's `engine.verify`: OpenSSL
verifies the served chain against the roots only (intermediates must be *sent*, so a missing link
fails the handshake), and the served (leaf, chain) must be exactly one generation's, in the
order the appliance links it: never an old leaf with a new chain or the reverse, never a leaf
alone. Python 3.11 has no public `get_unverified_chain()`, so the served chain is read through
`SSLSocket._sslobj.get_unverified_chain()` (public from 3.13, used when present).
"""

from __future__ import annotations

import socket
import ssl
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certsync_devkit import k8s_builders as build
from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.pki import Issued, make_ca, make_leaf, pem_bundle
from netscaler_certsync.simulator import SimulatorConfig
from tests.operator.harness import NS, Cluster

HOST = "www.example.com"
#: A simulator whose SSL vservers answer TLS on loopback (`sim.vserver_address(name)`).
SERVED = SimulatorConfig(
    ssl_vservers=("vs_https", "vs_sni"), sni_vservers=("vs_sni",), serve_vservers=True, log_requests=False
)
Served = tuple[str, ...]  # sha256 fingerprints: leaf first, then the chain as sent


def _fp(der: bytes) -> str:
    return x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256()).hex()


def served_ders(tls: ssl.SSLSocket) -> list[bytes]:
    public = getattr(tls, "get_unverified_chain", None)
    if public is not None:  # Python 3.13+
        return [bytes(d) for d in public()]
    return [c.public_bytes(ssl._ssl.ENCODING_DER) for c in tls._sslobj.get_unverified_chain()]  # type: ignore[attr-defined]


@dataclass
class HandshakeLoop:
    """Handshakes one after the other from a thread until stopped; records what each one saw."""

    address: tuple[str, int]
    roots_pem: str
    server_name: str = HOST
    seen: list[Served] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    #: (renewal in progress, what failed); `phase` is set by the scenario before each renewal
    failures: list[tuple[int, str]] = field(default_factory=list)
    phase: int = 0
    ciphers: str | None = None
    """TLS 1.2 cipher suites to offer instead of the defaults (e.g. RSA-only: ECDHE-RSA-...)."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> HandshakeLoop:
        self._thread = threading.Thread(target=self._run, name="handshakes", daemon=True)
        self._thread.start()
        return self

    def wait_handshakes(self, more: int = 1, timeout: float = 30) -> None:
        """Wait until `more` handshakes beyond those ended so far have ended (served or failed):
        what the vserver serves *now* is then in `seen`, however slowly the thread got going."""
        target = len(self.seen) + len(self.failures) + more
        wait_for(lambda: len(self.seen) + len(self.failures) >= target, timeout, "a handshake")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        context = ssl.create_default_context(cadata=self.roots_pem)  # chain to a root + host name
        if self.ciphers is not None:  # TLS 1.3 suites do not say the key type: offer 1.2 only
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers(self.ciphers)
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                with (
                    socket.create_connection(self.address, timeout=5) as raw,
                    context.wrap_socket(raw, server_hostname=self.server_name) as tls,
                ):
                    ders = served_ders(tls)
                self.latencies.append(time.perf_counter() - started)
                self.seen.append(tuple(_fp(d) for d in ders))
            except (OSError, ssl.SSLError) as exc:
                self.failures.append((self.phase, f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class Issuers:
    """Two roots; under them intermediates to rotate between, one two levels deep."""

    roots: tuple[Issued, Issued]
    chains: tuple[tuple[Issued, ...], ...]

    @classmethod
    def create(cls) -> Issuers:
        root, other_root = make_ca("Dataplane Root A"), make_ca("Dataplane Root B")
        a = make_ca("Dataplane Intermediate A", issuer=root)
        b = make_ca("Dataplane Intermediate B", issuer=a)  # under A: a three-certificate chain
        c = make_ca("Dataplane Intermediate C", issuer=root)  # same root, another issuer
        d = make_ca("Dataplane Intermediate D", issuer=other_root)  # another root altogether
        # Renewal i uses chains[i % len]: same issuer twice, a longer chain, issuer and root rotation.
        return cls((root, other_root), ((a,), (a,), (b, a), (b, a), (c,), (c,), (d,), (a,)))

    @property
    def roots_pem(self) -> str:
        return pem_bundle(self.roots).decode()


@dataclass(frozen=True)
class Generation:
    leaf: Issued
    chain: tuple[Issued, ...]
    issuer_changed: bool = False
    """The leaf's issuer differs from the previous generation's (the link must change)."""

    @property
    def served(self) -> Served:
        return tuple(c.fingerprint_sha256 for c in (self.leaf, *self.chain))


def put_secret(cluster: Cluster, name: str, gen: Generation, *, create: bool = False) -> None:
    crt = pem_bundle([gen.leaf, *gen.chain])
    if create:
        cluster.core.create_namespaced_secret(NS, build.tls_secret(name, crt, gen.leaf.key_pem))
    else:
        data = {"tls.crt": build.b64(crt), "tls.key": build.b64(gen.leaf.key_pem)}
        cluster.core.patch_namespaced_secret(name, NS, {"data": data})


def wait_served_status(cluster: Cluster, name: str, gen: Generation, timeout: float = 30) -> None:
    """Until the status reports the generation deployed and verified by handshake."""

    def done(obj: dict) -> bool:  # type: ignore[type-arg]
        entries = [e for e in obj.get("status", {}).get("certificates", []) if e.get("state") == "Synced"]
        return any(e.get("serial") == gen.leaf.serial_hex and e.get("verified") is True for e in entries)

    cluster.wait_sync(name, done, f"serial {gen.leaf.serial_hex} deployed and verified", timeout)


@dataclass
class RunResult:
    renewals: int
    generations: list[Generation]
    loop: HandshakeLoop
    chain_kinds: Counter[int] = field(default_factory=Counter)
    #: per renewal: Secret patched -> status shows it deployed and verified (seconds)
    renewal_seconds: list[float] = field(default_factory=list)

    def failures_during(self, *, issuer_changed: bool) -> list[tuple[int, str]]:
        return [(i, f) for i, f in self.loop.failures if self.generations[i].issuer_changed == issuer_changed]

    @property
    def issuer_changes(self) -> int:
        return sum(1 for g in self.generations if g.issuer_changed)

    @property
    def unexpected(self) -> list[Served]:
        allowed = {g.served for g in self.generations}
        return [s for s in self.loop.seen if s not in allowed]

    def latency_ms(self) -> tuple[float, float, float]:
        values = sorted(self.loop.latencies) or [0.0]
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return statistics.median(values) * 1000, p99 * 1000, values[-1] * 1000


def renew_under_load(
    cluster: Cluster, renewals: int, *, preserve: bool = True, issuers: Issuers | None = None
) -> RunResult:
    """Deploy, start the handshake loop, renew `renewals` times waiting for each, stop the loop."""
    issuers = issuers or Issuers.create()
    host, port = cluster.simulator.vserver_address("vs_https")
    first = Generation(make_leaf(issuers.chains[0][0], HOST), issuers.chains[0])
    cluster.connection()
    put_secret(cluster, "www", first, create=True)
    cluster.sync(
        "www",
        certificates=[{"secretName": "www"}],
        bindings=[{"vserver": "vs_https", "verify": {"host": host, "port": port, "serverName": HOST}}],
        preserveOnRenewal=preserve,
    )
    wait_served_status(cluster, "www", first)
    loop = HandshakeLoop((host, port), issuers.roots_pem).start()
    generations, took = [first], []
    try:
        for i in range(1, renewals + 1):
            chain = issuers.chains[i % len(issuers.chains)]
            gen = Generation(make_leaf(chain[0], HOST), chain, chain[0] is not generations[-1].chain[0])
            generations.append(gen)
            loop.phase = i
            started = time.perf_counter()
            put_secret(cluster, "www", gen)
            wait_served_status(cluster, "www", gen)
            took.append(time.perf_counter() - started)
    finally:
        loop.stop()
    kinds = Counter(len(s) for s in loop.seen)
    return RunResult(renewals, generations, loop, kinds, took)


def describe(seen: Sequence[Served], generations: Sequence[Generation]) -> list[str]:
    """Readable lines for unexpected handshakes (which generation's leaf, which chain)."""
    leaves = {g.leaf.fingerprint_sha256: i for i, g in enumerate(generations)}
    return [
        f"leaf of generation {leaves.get(s[0], '?')} with {len(s) - 1} chain certificate(s)" for s in seen
    ]
