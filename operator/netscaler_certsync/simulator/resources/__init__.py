"""NITRO resources the simulator serves; importing this package registers every handler."""

from netscaler_certsync.simulator.resources import bindings, sslcertkey, system, systemfile, vpnglobal
from netscaler_certsync.simulator.resources.registry import READS, WRITES, Ctx, NitroRequest

__all__ = [
    "READS",
    "WRITES",
    "Ctx",
    "NitroRequest",
    "bindings",
    "sslcertkey",
    "system",
    "systemfile",
    "vpnglobal",
]
