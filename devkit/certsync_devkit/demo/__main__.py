"""`make demo` / `python -m certsync_devkit.demo`.

By default: the NITRO simulator plus the real operator on an embedded, emulated Kubernetes API
(nothing to install, nothing outside this process). `--nitro-session` instead shows, call by
call, the NITRO session the operator runs for one certificate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from certsync_devkit.demo.nitro_session import print_request, scripted_session
from certsync_devkit.demo.show import appliance_state
from netscaler_certsync.nitro import Credentials, NitroClient, TLSConfig
from netscaler_certsync.simulator import SimulatorConfig, run_simulator


def say(text: str) -> None:
    print(text, flush=True)


async def nitro_demo() -> int:
    say("== netscaler-certsync demo: a scripted NITRO session against the bundled NetScaler simulator")
    async with run_simulator(SimulatorConfig()) as sim:
        say(f"   simulated appliance at {sim.url} (TLS verified against its CA {sim.ca_file}), login nsroot")
        client = NitroClient(
            sim.url,
            Credentials("nsroot", "nsroot"),
            tls=TLSConfig(ca_pem=sim.ca_pem),
            on_request=[print_request(say)],
        )
        async with client:
            await scripted_session(client, say)
        say("6. logged out. The appliance now holds:")
        say(appliance_state(sim.state.dump()))
        problems = sim.check_invariants()
        say("   invariants: " + ("consistent" if not problems else "; ".join(problems)))
        return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m certsync_devkit.demo", description=__doc__)
    parser.add_argument(
        "--nitro-session", action="store_true", help="show the scripted NITRO session instead"
    )
    parser.add_argument(
        "--real-cluster",
        action="store_true",
        help="use the current kube context instead of the embedded emulated API (CRDs are applied there)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the demo narrates; the operator's own log stays quiet
    if args.nitro_session:
        return asyncio.run(nitro_demo())
    from certsync_devkit.demo.operator_demo import operator_demo

    return operator_demo(real_cluster=args.real_cluster)


if __name__ == "__main__":
    sys.exit(main())
