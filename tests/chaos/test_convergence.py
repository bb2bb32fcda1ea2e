"""Convergence under chaos: seeded churn, NITRO faults and kill -9 of the operator, then the
appliance must hold exactly what the live CertificateSyncs account for.

The operator runs as `netscaler-certsync run` in its own process against the emulated Kubernetes
API (its own process) and the NITRO simulator (a thread of the test, with its fault injection).
Seeds and churn length come from the environment, so `make soak` runs the same test longer:
CERTSYNC_CHAOS_SEEDS ("1 2 3"), CERTSYNC_CHAOS_SECONDS (churn per seed), and
CERTSYNC_CHAOS_CONVERGE_SECONDS (how long convergence may take once the faults stop).
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from certsync_devkit.k8s_thread import wait_for
from certsync_devkit.pki import TestPKI
from tests.chaos.stack import Emulator, Operator, start_simulator
from tests.chaos.world import FOREIGN_CERTKEY, FOREIGN_FILES, World
from tests.operator.harness import Cluster, admin, nitro

SEEDS = [int(s) for s in os.environ.get("CERTSYNC_CHAOS_SEEDS", "1").replace(",", " ").split()]
CHURN_SECONDS = float(os.environ.get("CERTSYNC_CHAOS_SECONDS", "20"))
CONVERGE_SECONDS = float(os.environ.get("CERTSYNC_CHAOS_CONVERGE_SECONDS", "90"))
#: What the appliance does wrong meanwhile (the simulator draws them from its seed).
FAULTS: list[dict[str, Any]] = [
    {"kind": "error", "probability": 0.05, "status": 503, "errorcode": 9999},
    {"kind": "error", "probability": 0.03, "status": 503, "errorcode": 9999, "phase": "after"},
    {"kind": "reset", "probability": 0.03},
    {"kind": "timeout", "probability": 0.01, "hang": 3.0},
    {"kind": "expire_session", "probability": 0.02},
]


def _seed_foreign(sim: Any, pki: TestPKI) -> None:
    """A certkey, its files and a binding that someone else made: they must survive untouched."""
    leaf = pki.leaf("foreign.example.com")

    async def add(client: Any) -> None:
        await client.upload_file(FOREIGN_FILES[0], leaf.cert_pem)
        await client.upload_file(FOREIGN_FILES[1], leaf.key_pem)
        await client.add_certkey(FOREIGN_CERTKEY, *FOREIGN_FILES)
        await client.bind_certkey("vs_foreign", FOREIGN_CERTKEY)
        await client.save_config()

    nitro(sim, add)


def _foreign(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "certkey": state["certkeys"].get(FOREIGN_CERTKEY),
        "files": {p: f for p, f in state["files"].items() if p.rsplit("/", 1)[-1] in FOREIGN_FILES},
        "bindings": [b for b in state["bindings"] if b["certkey"] == FOREIGN_CERTKEY],
    }


@pytest.mark.timeout(CHURN_SECONDS + CONVERGE_SECONDS + 120)  # start-up and stop on top
@pytest.mark.parametrize("seed", SEEDS)
def test_converges_after_churn_faults_and_kills(seed: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    pkis = {"a": TestPKI.create("Chaos A"), "b": TestPKI.create("Chaos B")}
    sim = start_simulator(seed)
    emu = Emulator(tmp_path)
    op = Operator(emu.kubeconfig, tmp_path / "operator.log")
    try:
        cluster = Cluster(emu.api, None, sim, pkis["a"])  # type: ignore[arg-type]  # no emulator thread
        cluster.connection()
        _seed_foreign(sim, pkis["a"])
        foreign = _foreign(cluster.appliance())
        world = World(rng, emu.api, pkis)
        world.setup()
        op.start()
        for rule in FAULTS:
            admin(sim, "POST", "faults", rule)

        deadline = time.monotonic() + CHURN_SECONDS
        next_kill = time.monotonic() + rng.uniform(2, 10)
        while time.monotonic() < deadline:
            world.step()
            if time.monotonic() >= next_kill:
                op.kill()
                world.log.append("kill -9 operator")
                op.start()
                next_kill = time.monotonic() + rng.uniform(2, 10)
            time.sleep(rng.uniform(0.05, 0.5))  # pacing of the churn, not a wait for anything

        admin(sim, "DELETE", "faults")
        world.log.append("faults off")
        (tmp_path / "steps.log").write_text("\n".join(world.log) + "\n")  # to reproduce a seed by hand
        assert op.alive(), f"seed {seed}: the operator exited on its own (see {tmp_path / 'operator.log'})"
        problems: list[str] = []

        def converged() -> bool:
            problems[:] = world.not_ready() + world.violations(
                cluster.appliance(), foreign, cluster.invariants()
            )
            return not problems

        with contextlib.suppress(AssertionError):  # what is left is reported below, with the seed
            wait_for(converged, timeout=CONVERGE_SECONDS, what="convergence", interval=0.5)
        assert not problems, (
            f"seed {seed}: not converged {CONVERGE_SECONDS:.0f}s after the faults stopped "
            f"({op.kills} kills, {len(world.log)} steps; operator log {tmp_path / 'operator.log'}):\n  "
            + "\n  ".join(problems)
            + "\nlast steps:\n  "
            + "\n  ".join(world.log[-15:])
        )
        assert op.alive(), f"seed {seed}: the operator exited on its own"
    finally:
        op.stop()
        emu.stop()
        sim.stop()
