"""The management endpoint's certificate follows `ns-server-certificate`, as on a real appliance.

A NetScaler serves its management GUI and NITRO with the certkey `ns-server-certificate`, so
updating that certkey (in place, e.g. by adoption) changes the certificate every later
connection sees. With `SimulatorConfig.management_follows_builtin` the simulator does the same:
after an update, link or unlink of that certkey, new handshakes get its certificate and the chain
its links reach (connections already open keep theirs). Off by default: other tests keep the
simulator's own management certificate whatever they do to `ns-server-certificate`.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from netscaler_certsync.simulator.state import BUILTIN_CERTKEY, Partition

#: Links followed at most (a chain longer than this is not served further).
MAX_CHAIN = 8


def served_pem(part: Partition) -> tuple[bytes, bytes] | None:
    """(certificate and linked chain, key) of `ns-server-certificate`, or None when unreadable."""
    certkey = part.certkeys.get(BUILTIN_CERTKEY)
    if certkey is None or certkey.key is None:
        return None
    cert, key = part.read_path(certkey.cert), part.read_path(certkey.key)
    if cert is None or key is None:
        return None
    chain, cursor = [cert], certkey.link
    while cursor is not None and len(chain) < MAX_CHAIN and cursor in part.certkeys:
        ca = part.certkeys[cursor]
        content = part.read_path(ca.cert)
        if content is None:
            break
        chain.append(content)
        cursor = ca.link
    return b"".join(c if c.endswith(b"\n") else c + b"\n" for c in chain), key


class ManagementTLS:
    """Reloads the endpoint's TLS context with `ns-server-certificate` when it changes."""

    def __init__(self, context: ssl.SSLContext, workdir: Path) -> None:
        self.context = context
        self.workdir = workdir
        self._served: tuple[bytes, bytes] | None = None

    def refresh(self, part: Partition) -> None:
        pem = served_pem(part)
        if pem is None or pem == self._served:
            return
        cert_file, key_file = self.workdir / "management.pem", self.workdir / "management.key"
        cert_file.write_bytes(pem[0])
        key_file.write_bytes(pem[1])
        key_file.chmod(0o600)
        self.context.load_cert_chain(cert_file, key_file)  # new handshakes only
        self._served = pem
