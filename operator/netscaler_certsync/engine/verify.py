"""Post-deploy verification: is the appliance serving what was deployed?

`verify_deployed()` is the one call the operator makes after a sync: it reads the sync's certkeys
back from the appliance (what status and metrics report: the appliance's own serial and notAfter,
not what was sent) and checks each synced certificate. Two ways, per binding:

- with an address (`verify: {host, port, serverName}`), a TLS handshake there (SNI = serverName,
  default the certificate's common name) captures the chain the vserver really sends; the leaf
  must carry the expected serial and fingerprint, and the chain must lead, certificate by
  certificate (checked by signature), to the configured CA: the issuer of the top of the chain
  the Secret provides (its root from ca.crt, or the last intermediate's issuer);
- without one, the certkey read back through NITRO: its serial, its `linkcertkeyname` chain
  against the Secret's intermediates, and its bindings: each vserver the sync reports bound must
  list the certkey (as default or SNI, as reported); where another certkey holds the vserver's
  default certificate instead, someone else took it over, and that is reported (`BindingConflict`),
  not claimed (what the appliance *says* it serves).

The handshake trusts nothing by itself (no CA store, no hostname check): the point is to see what
is served, and the chain check below is stricter than path building (it wants *this* leaf and a
complete chain sent by the server, not one a client could complete from its own store).

Capturing the peer chain: `SSLObject.get_unverified_chain()` is public from Python 3.13; on 3.10
to 3.12 the same OpenSSL call exists as `SSLObject._sslobj.get_unverified_chain()` (private but
present, and tested by this package's dataplane tier), which is what older interpreters use.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from netscaler_certsync.domain import CertificateMaterial, same_serial, serial_text
from netscaler_certsync.domain.reasons import (
    BindingConflict,
    ChainIncomplete,
    ServedCertificateMismatch,
    Unreachable,
    Verified,
)
from netscaler_certsync.engine.model import ApplianceResult, BindingSpec, CertState, DesiredCertificate
from netscaler_certsync.nitro import CertBinding, CertKey, NitroClient
from netscaler_certsync.nitro.errors import NitroError

DEFAULT_PORT: Final = 443
DEFAULT_TIMEOUT: Final = 5.0

#: Up to this many certkeys a sync's read-back uses GETs by name instead of one full listing.
SMALL_SYNC: Final = 4
MAX_CHAIN_DEPTH: Final = 10
#: Handshakes in flight at once, per call (per appliance).
VERIFY_CONCURRENCY: Final = 16


@dataclass(frozen=True)
class VerifyTarget:
    """Where a vserver answers TLS, and the SNI name to ask for (None: the certificate's name)."""

    host: str
    port: int = DEFAULT_PORT
    server_name: str | None = None

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class Verification:
    """The outcome of one check; `chain_depth` counts the certificates served, leaf included."""

    verified: bool
    reason: str
    message: str
    method: str  # "handshake" | "nitro"
    observed_serial: str | None = None
    chain_depth: int | None = None


def _sni_name(material: CertificateMaterial, target: VerifyTarget) -> str | None:
    if target.server_name:
        return target.server_name
    names = [material.leaf.common_name, *material.leaf.sans]
    plain = next((n for n in names if n and not n.startswith("*") and not _is_ip(n)), None)
    if plain:
        return plain
    wildcard = next((n for n in names if n.startswith("*.")), None)
    return f"verify{wildcard[1:]}" if wildcard else None


def _is_ip(name: str) -> bool:
    return all(p.isdigit() for p in name.split(".")) or ":" in name


def _peer_chain(ssl_object: ssl.SSLObject) -> list[x509.Certificate]:
    """The certificates the server sent, in its order (see the module docstring for why two ways)."""
    public = getattr(ssl_object, "get_unverified_chain", None)
    if public is not None:  # Python 3.13+
        raw = public() or []
    else:
        raw = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in ssl_object._sslobj.get_unverified_chain() or []]  # type: ignore[attr-defined]
    return [x509.load_der_x509_certificate(bytes(der)) for der in raw]


#: TLS 1.2 suites a client that takes only one key type offers (TLS 1.3 suites name no key type).
_ONLY_KEY_TYPE = {
    "RSA": "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384",
    "EC": "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384",
}


def _key_family(key_type: str) -> str:
    """The family ("RSA" or "EC") of a material's key type ("RSA-2048", "EC-secp256r1")."""
    return key_type.split("-", 1)[0]


def _served_family(cert: x509.Certificate) -> str:
    return "EC" if isinstance(cert.public_key(), ec.EllipticCurvePublicKey) else "RSA"


async def served_chain(
    host: str,
    port: int,
    server_name: str | None,
    wait: float = DEFAULT_TIMEOUT,
    only: str | None = None,
) -> list[x509.Certificate]:
    """Handshake with (host, port), SNI `server_name`: the chain served. Raises OSError/ssl.SSLError.

    `only` ("RSA" or "EC"): offer only that key type's TLS 1.2 suites, as an old RSA-only client
    or an ECDSA-only one does, to see the certificate a vserver serves such a client.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we look at what is served; trust is checked by `check_chain`
    if only is not None:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(_ONLY_KEY_TYPE[only])
    sni = server_name if server_name and not _is_ip(server_name) else None
    _, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=context, server_hostname=sni or ""), wait
    )
    try:
        return _peer_chain(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def check_chain(material: CertificateMaterial, served: Sequence[x509.Certificate]) -> Verification:
    """Compare a served chain with the material: the same leaf, and a complete chain to the CA."""
    if not served:
        return Verification(False, ChainIncomplete, "the vserver sent no certificate", "handshake", None, 0)
    leaf, depth = served[0], len(served)
    observed = serial_text(leaf.serial_number)
    fingerprint = leaf.fingerprint(hashes.SHA256()).hex()
    if not same_serial(observed, material.leaf.serial) or fingerprint != material.leaf.fingerprint:
        return Verification(
            False,
            ServedCertificateMismatch,
            f"the vserver serves serial {observed}, expected {material.leaf.serial}",
            "handshake",
            observed,
            depth,
        )
    top = material.chain[-1] if material.chain else material.leaf
    anchor_pem = material.root.pem if material.root is not None else None
    anchor = x509.load_pem_x509_certificate(anchor_pem.encode()) if anchor_pem else None
    anchor_name = x509.load_pem_x509_certificate(top.pem.encode()).issuer
    # Walk up from the leaf through what was served: each step must be signed by the next.
    current, used = leaf, {0}
    for _ in range(len(served)):
        if current.issuer == anchor_name and (anchor is None or _issued_by(current, anchor)):
            return Verification(
                True,
                Verified,
                f"serial {observed}, {depth} certificate(s) served",
                "handshake",
                observed,
                depth,
            )
        step = next(
            (
                i
                for i, c in enumerate(served)
                if i not in used and c.subject == current.issuer and _issued_by(current, c)
            ),
            None,
        )
        if step is None:
            break
        used.add(step)
        current = served[step]
    missing = current.issuer.rfc4514_string()
    return Verification(
        False,
        ChainIncomplete,
        f"serial {observed} is served, but the chain ({depth} certificate(s)) stops at "
        f"{current.subject.rfc4514_string()}: its issuer {missing} is not sent",
        "handshake",
        observed,
        depth,
    )


async def verify_handshake(
    material: CertificateMaterial, target: VerifyTarget, wait: float = DEFAULT_TIMEOUT
) -> Verification:
    """Handshake with the vserver at `target` and check what it serves."""
    server_name, family = _sni_name(material, target), _key_family(material.key_type)
    try:
        served = await served_chain(target.host, target.port, server_name, wait)
        if served and _served_family(served[0]) != family:
            # A vserver with a default certificate per key type (RSA and ECDSA, CTX224272) serves
            # the other one to a client offering both: ask again as a client taking only this one.
            served = await served_chain(target.host, target.port, server_name, wait, only=family)
    except (TimeoutError, OSError, ssl.SSLError, ValueError) as exc:
        detail = str(exc) or type(exc).__name__
        return Verification(
            False, Unreachable, f"no TLS handshake with {target.describe()}: {detail}", "handshake"
        )
    result = check_chain(material, served)
    return Verification(
        result.verified,
        result.reason,
        f"{target.describe()}: {result.message}",
        "handshake",
        result.observed_serial,
        result.chain_depth,
    )


def verify_readback(
    material: CertificateMaterial,
    certkey: str,
    certkeys: Mapping[str, CertKey],
    *,
    link_chain: bool = True,
    bound: Sequence[BindingSpec] = (),
    served: Mapping[str, Sequence[CertBinding]] | None = None,
) -> Verification:
    """What NITRO reports for `certkey`: its serial, (with `link_chain`) the linked intermediates,
    and (with `served`, the bindings of each vserver as read back) the bindings in `bound`."""
    found = certkeys.get(certkey)
    if found is None:
        return Verification(
            False, ServedCertificateMismatch, f"certkey {certkey} is not on the appliance", "nitro"
        )
    observed = (found.serial or "").upper()
    if not same_serial(observed, material.leaf.serial):
        return Verification(
            False,
            ServedCertificateMismatch,
            f"certkey {certkey} holds serial {observed or '(none)'}, expected {material.leaf.serial}",
            "nitro",
            observed or None,
            None,
        )
    linked: list[CertKey] = []
    current = found
    while link_chain and current.linked_to and len(linked) <= len(certkeys):
        nxt = certkeys.get(current.linked_to)
        if nxt is None or nxt in linked:
            break
        linked.append(nxt)
        current = nxt
    expected = [c.serial for c in material.chain] if link_chain else []
    for i, want in enumerate(expected):
        if i >= len(linked) or not same_serial(linked[i].serial, want):
            have = linked[i].name if i < len(linked) else "nothing"
            return Verification(
                False,
                ChainIncomplete,
                f"certkey {certkey}: link {i + 1} should be the intermediate with serial {want}, "
                f"the appliance links {have}",
                "nitro",
                observed,
                1 + len(linked),
            )
    depth = 1 + len(linked)
    if served is not None:
        wrong = _check_bindings(certkey, bound, served)
        if wrong is not None:
            reason, message = wrong
            return Verification(False, reason, message, "nitro", observed, depth)
    bound_to = f", bound to {len(bound)} vserver(s)" if served is not None and bound else ""
    message = f"certkey {certkey}: serial {observed}, {len(linked)} linked CA(s){bound_to}"
    return Verification(True, Verified, message, "nitro", observed, depth)


def _check_bindings(
    certkey: str, bound: Sequence[BindingSpec], served: Mapping[str, Sequence[CertBinding]]
) -> tuple[str, str] | None:
    """Whether each binding the sync reports is on the appliance; (reason, message) if not."""
    for spec in bound:
        rows = [b for b in served.get(spec.vserver, ()) if not b.ca]
        if any(b.certkey == certkey and b.sni == spec.sni for b in rows):
            continue
        others = sorted(b.certkey for b in rows if not b.sni and b.certkey != certkey)
        if not spec.sni and others:
            return BindingConflict, (
                f"vserver {spec.vserver} has certkey {others[0]} as its default certificate, not "
                f"{certkey}: another owner took the binding over"
            )
        return ServedCertificateMismatch, f"certkey {certkey} is not bound to {spec.describe()}"
    return None


@dataclass(frozen=True)
class Deployed:
    """What the appliance shows after a sync."""

    #: the sync's certkeys as the appliance reports them (serial, notAfter), by name
    certkeys: Mapping[str, CertKey]
    #: per certificate id: what a handshake (or the NITRO read-back) found
    verifications: Mapping[str, Verification]


async def verify_deployed(
    client: NitroClient,
    result: ApplianceResult,
    desired: Sequence[DesiredCertificate],
    targets: Sequence[VerifyTarget],
    *,
    link_chain: bool = True,
    verify: bool = True,
) -> Deployed:
    """Read the sync's certkeys back and (with `verify`) check that each synced one is served.

    A read-back that fails leaves the certificates unverified; the sync itself succeeded.
    """
    listed = await _read_back(client, result)
    certkeys = {
        c.certkey: listed[c.certkey] for c in result.certificates if c.certkey and c.certkey in listed
    }
    if not verify:
        return Deployed(certkeys, {})
    served = await _read_bindings(client, result) if listed else {}
    if served is None:
        return Deployed(certkeys, {})  # bindings unknown: nothing is claimed verified
    return Deployed(certkeys, await _verify_all(result, desired, targets, listed, served, link_chain))


async def _read_bindings(client: NitroClient, result: ApplianceResult) -> dict[str, list[CertBinding]] | None:
    """The bindings the synced certificates report, read back; None when a read failed.

    A small sync reads each of its certkeys' bindings on each vserver (`filter=certkeyname:`, a
    reply that stays small however many certificates share the vserver); a vserver where a default
    binding is missing is then read whole, to name the certkey that holds it instead. A large sync
    reads every binding in one request.
    """
    pairs = sorted(
        {
            (b.vserver, c.certkey)
            for c in result.certificates
            if c.state == CertState.SYNCED and c.certkey
            for b in c.bound
        }
    )
    if not pairs:
        return {}
    try:
        if len(pairs) > SMALL_SYNC:
            found: dict[str, list[CertBinding]] = {v: [] for v, _ in pairs}
            for b in await client.list_all_bindings():
                if b.vserver in found:
                    found[b.vserver].append(b)
            return found
        found = {}
        for vserver, certkey in pairs:
            found.setdefault(vserver, []).extend(await client.list_bindings(vserver, certkey))
        for vserver in sorted(_defaults_missing(result, found)):
            found[vserver] = await client.list_bindings(vserver)
        return found
    except NitroError:
        return None


def _defaults_missing(result: ApplianceResult, found: Mapping[str, Sequence[CertBinding]]) -> set[str]:
    """Vservers where a synced certkey is reported bound as the default and the appliance does not
    show it so."""
    missing = set()
    for c in result.certificates:
        if c.state != CertState.SYNCED:
            continue
        for spec in c.bound:
            rows = found.get(spec.vserver, ())
            if not spec.sni and not any(b.certkey == c.certkey and not b.sni and not b.ca for b in rows):
                missing.add(spec.vserver)
    return missing


async def _read_back(client: NitroClient, result: ApplianceResult) -> dict[str, CertKey]:
    """The sync's certkeys and their linked CAs as the appliance reports them after the apply.

    The NITRO verification follows the links through them. What the apply itself read back after
    its writes (`ApplianceResult.read_back`) is not read again; of the rest, a small sync reads
    its certkeys by name (a few GETs), a large one lists every certkey once, which on a shared
    appliance with many certificates is the cheaper of the two.
    """
    names = sorted({c.certkey for c in result.certificates if c.certkey})
    if not names:
        return {}
    found: dict[str, CertKey] = {n: result.read_back[n] for n in names if n in result.read_back}
    try:
        if len(names) - len(found) > SMALL_SYNC:
            listed = await client.list_certkeys(attrs=["serial", "clientcertnotafter", "linkcertkeyname"])
            return {c.name: c for c in listed}
        todo = [n for n in names if n not in found]
        todo += [c.linked_to for c in found.values() if c.linked_to and c.linked_to not in found]
        while todo and len(found) < SMALL_SYNC * (MAX_CHAIN_DEPTH + 1):
            name = todo.pop()
            if name in found:
                continue
            certkey = await client.get_certkey(name)
            if certkey is not None:
                found[name] = certkey
                if certkey.linked_to and certkey.linked_to not in found:
                    todo.append(certkey.linked_to)
        return found
    except NitroError:
        return {}  # reported as not verified; the sync itself succeeded


def _covers(names: Sequence[str], server_name: str) -> bool:
    host = server_name.lower()
    for name in (n.lower() for n in names):
        if name == host or (name.startswith("*.") and host.partition(".")[2] == name[2:]):
            return True
    return False


async def _verify_all(
    result: ApplianceResult,
    desired: Sequence[DesiredCertificate],
    targets: Sequence[VerifyTarget],
    listed: Mapping[str, CertKey],
    served: Mapping[str, Sequence[CertBinding]],
    link_chain: bool,
) -> dict[str, Verification]:
    """Per certificate id: is the appliance serving it? The first failing check wins.

    Certificates with `targets` are checked by handshake, all certificates and addresses
    concurrently (at most `VERIFY_CONCURRENCY` at a time, so an address that does not answer
    costs one timeout, not one per certificate); a target that names a `server_name` only checks
    the certificates holding that name. Without a target, the certkey as NITRO reports it
    (serial, links) is the check.
    """
    materials = {d.id: d.material for d in desired if d.material is not None}
    limit = asyncio.Semaphore(VERIFY_CONCURRENCY)

    async def handshake(material: CertificateMaterial, target: VerifyTarget) -> Verification:
        async with limit:
            return await verify_handshake(material, target)

    checks: dict[str, Verification] = {}
    pending: dict[str, list[asyncio.Task[Verification]]] = {}
    async with asyncio.TaskGroup() as group:
        for cert in result.certificates:
            material = materials.get(cert.id)
            if cert.state != CertState.SYNCED or not cert.certkey or material is None:
                continue
            names = (material.leaf.common_name, *material.leaf.sans)
            mine = [t for t in targets if not t.server_name or _covers(names, t.server_name)]
            if mine:
                pending[cert.id] = [group.create_task(handshake(material, t)) for t in mine]
            elif listed:
                checks[cert.id] = verify_readback(
                    material, cert.certkey, listed, link_chain=link_chain, bound=cert.bound, served=served
                )
    for cert_id, tasks in pending.items():
        results = [t.result() for t in tasks]
        checks[cert_id] = next((r for r in results if not r.verified), results[0])
    return checks
