"""Running the pinned third-party clients as child processes, each bounded by a timeout.

netscaler-certbot-hook names uploaded files `<name>-<unix time>.crt`; two runs in the same second
would collide on the appliance (1642), as they would on a real one. Its clock is injected: the
child imports the unmodified package, replaces the `time` module *its* `cli` module sees with one
whose `time()` answers the given instant, and calls `cli.main()` as the console script would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from netscaler_certsync.simulator import SimulatorThread

TIMEOUT = 60  # seconds per client run: each makes a handful of requests to loopback

_HOOK_AT = """
import sys, types
from netscaler_certbot_hook import cli
instant = float(sys.argv.pop(1))
cli.time = types.SimpleNamespace(time=lambda: instant)
cli.main()
"""


@dataclass(frozen=True)
class Run:
    code: int
    output: str


def _run(argv: list[str], env: dict[str, str]) -> Run:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NS_", "NETSCALER_", "REQUESTS_"))}
    done = subprocess.run(
        argv, env={**base, **env}, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    return Run(done.returncode, done.stdout + done.stderr)


def certbot_hook(sim: SimulatorThread, live: Path, name: str, at: float, *extra: str) -> Run:
    """`netscaler-certbot-hook --name <name>` on certbot's files in `live`, verifying the
    appliance's TLS certificate against the simulator's CA (NS_VERIFY_SSL=true)."""
    env = {
        "NS_URL": sim.url,
        "NS_LOGIN": "nsroot",
        "NS_PASSWORD": "nsroot",
        "NS_VERIFY_SSL": "true",
        "REQUESTS_CA_BUNDLE": str(sim.ca_file),
    }
    files = ["--cert", str(live / "cert.pem"), "--privkey", str(live / "privkey.pem")]
    files += ["--chain-cert", str(live / "chain.pem")]
    return _run([sys.executable, "-c", _HOOK_AT, str(at), "--name", name, *files, *extra], env)


def check_netscaler(sim: SimulatorThread, *args: str) -> Run:
    """`check_netscaler -H 127.0.0.1 -P <port> -C …` (HTTPS; this version does not verify the
    appliance's certificate over HTTPS: its `verify_ssl = not ssl`)."""
    port = sim.url.rsplit(":", 1)[1].rstrip("/")
    env = {"NETSCALER_USER": "nsroot", "NETSCALER_PASS": "nsroot"}
    argv = [sys.executable, "-m", "check_netscaler", "-H", "127.0.0.1", "-P", port, *args]
    return _run(argv, env)
