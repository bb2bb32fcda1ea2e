"""The appliance's live state: files, certkeys, links, vservers, bindings, saved configuration.

One `Partition` per admin partition (the default one is called "default"). Every lookup a
request needs is a dict access: certkeys by name, by content fingerprint and by subject;
link children per CA; bindings per vserver and per certkey.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from netscaler_certsync.simulator.certs import CertInfo, openssl_date
from netscaler_certsync.simulator.config import SimulatorConfig

DEFAULT_LOCATION = "/nsconfig/ssl"
BUILTIN_CERTKEY = "ns-server-certificate"
VSERVER_KINDS = ("lb", "cs", "vpn")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def normalize_location(location: str) -> str:
    location = location.strip() or DEFAULT_LOCATION
    return location.rstrip("/") or "/"


def partition_root(partition: str) -> str:
    """Where an admin partition's files live: `/nsconfig/partitions/<name>` (Citrix's
    tdToPartition.pl copies certkey files to `<root>/ssl`; n8n's Citrix ADC node offers
    `/nsconfig/partitions/<name>/ssl/` as a partition's certificate location)."""
    return f"/nsconfig/partitions/{partition}"


def ssl_dir(partition: str) -> str:
    """The partition's default SSL directory: where a bare certkey file name is looked up."""
    return DEFAULT_LOCATION if partition == "default" else f"{partition_root(partition)}/ssl"


def resolve_path(given: str, partition: str = "default") -> tuple[str, str]:
    """A certkey's `cert`/`key` value -> (directory, file name); a bare name lives in the
    partition's default SSL directory."""
    if "/" not in given:
        return ssl_dir(partition), given
    directory, _, name = given.rpartition("/")
    return normalize_location(directory), name


def accessible(location: str, partition: str) -> bool:
    """Whether a directory is inside what an admin partition may read and write (its own tree);
    the default partition reaches everything."""
    if partition == "default":
        return True
    root = partition_root(partition)
    return location == root or location.startswith(root + "/")


@dataclass(slots=True)
class StoredFile:
    content: bytes
    modified: dt.datetime
    accessed: dt.datetime


def key_family(publickey: str) -> str:
    """The default-certificate slot a public key fills on a vserver: "RSA" or "EC" (CTX224272:
    one RSA and one ECDSA default certificate coexist; DSA and others share the RSA slot here)."""
    return "EC" if publickey == "id-ecPublicKey" else "RSA"


@dataclass(slots=True)
class CertKey:
    name: str
    cert: str
    key: str | None
    inform: str
    info: CertInfo
    password: bool = False
    expirymonitor: str = "DISABLED"
    notificationperiod: int | None = None
    #: newer builds: NO | ALWAYS | IF_EXPIRED - delete the files when the certkey is removed
    deletefiles: str = "NO"
    link: str | None = None
    builtin: bool = False
    #: kept (never shown) so a vserver served over TLS can load an encrypted key
    passplain: str | None = field(default=None, repr=False)

    @property
    def family(self) -> str:
        return key_family(self.info.publickey)


BindingKey = tuple[str, bool, bool]  # (certkey, snicert, ca) within one vserver


@dataclass(slots=True)
class Binding:
    vserver: str
    certkey: str
    snicert: bool = False
    ca: bool = False
    crlcheck: str | None = None
    ocspcheck: str | None = None
    skipcaname: bool = False


@dataclass(slots=True)
class VServer:
    name: str
    kind: str  # lb | cs | vpn
    ssl: bool
    snienable: bool = False
    #: client authentication (`set ssl vserver -clientAuth ENABLED -clientCert Mandatory`):
    #: None when disabled, else "Mandatory" or "Optional"
    clientcert: str | None = None
    bindings: dict[BindingKey, Binding] = field(default_factory=dict)
    #: domain -> SNI-bound certkey serving it, so the duplicate-domain check is a lookup
    sni_domains: dict[str, str] = field(default_factory=dict)

    def defaults(self) -> list[str]:
        """The certkeys bound as default server certificate: at most one per key family."""
        return [name for name, sni, ca in self.bindings if not sni and not ca]

    def client_cas(self) -> list[str]:
        """The certkeys bound with `-CA`: the trust anchors for client certificates."""
        return sorted(name for name, _, ca in self.bindings if ca)

    def index_sni(self, certkey: str, domains: frozenset[str], add: bool) -> None:
        for domain in domains:
            if add:
                self.sni_domains[domain] = certkey
            elif self.sni_domains.get(domain) == certkey:
                del self.sni_domains[domain]


@dataclass
class Partition:
    """One admin partition's running configuration plus its files and last saved configuration."""

    name: str
    files: dict[str, dict[str, StoredFile]] = field(default_factory=dict)
    certkeys: dict[str, CertKey] = field(default_factory=dict)
    by_fingerprint: dict[str, str] = field(default_factory=dict)
    by_subject: dict[bytes, set[str]] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)  # CA certkey -> certkeys linked to it
    vservers: dict[str, VServer] = field(default_factory=dict)
    cert_bindings: dict[str, set[tuple[str, bool, bool]]] = field(
        default_factory=dict
    )  # certkey -> (vs,sni,ca)
    vpn_global: set[str] = field(default_factory=set)  # certkeys bound to VPN global
    configchanged: bool = False
    last_changed: dt.datetime | None = None
    last_saved: dt.datetime | None = None
    saves: int = 0
    saved: dict[str, Any] = field(default_factory=dict)
    #: copies of the objects as last saved: what a reboot brings back (files are on disk: kept)
    saved_objects: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- files -------------------------------------------------------------------------------
    def get_file(self, location: str, name: str) -> StoredFile | None:
        return self.files.get(normalize_location(location), {}).get(name)

    def put_file(self, location: str, name: str, content: bytes) -> None:
        stamp = now()
        self.files.setdefault(normalize_location(location), {})[name] = StoredFile(content, stamp, stamp)

    def delete_file(self, location: str, name: str) -> bool:
        directory = self.files.get(normalize_location(location), {})
        return directory.pop(name, None) is not None

    def resolve(self, given: str) -> tuple[str, str]:
        return resolve_path(given, self.name)

    def read_path(self, given: str) -> bytes | None:
        found = self.get_file(*self.resolve(given))
        return found.content if found else None

    # -- certkeys ------------------------------------------------------------------------------
    def add_certkey(self, certkey: CertKey) -> None:
        self.certkeys[certkey.name] = certkey
        self._index(certkey)

    def _index(self, certkey: CertKey) -> None:
        self.by_fingerprint[certkey.info.fingerprint] = certkey.name
        self.by_subject.setdefault(certkey.info.subject_key, set()).add(certkey.name)

    def _unindex(self, certkey: CertKey) -> None:
        if self.by_fingerprint.get(certkey.info.fingerprint) == certkey.name:
            del self.by_fingerprint[certkey.info.fingerprint]
        self.by_subject.get(certkey.info.subject_key, set()).discard(certkey.name)

    def replace_info(self, certkey: CertKey, info: CertInfo) -> None:
        self._unindex(certkey)
        sni_on = [vs for vs, sni, _ in self.cert_bindings.get(certkey.name, ()) if sni]
        for vs in sni_on:
            self.vservers[vs].index_sni(certkey.name, certkey.info.domains, add=False)
        certkey.info = info
        for vs in sni_on:
            self.vservers[vs].index_sni(certkey.name, info.domains, add=True)
        self._index(certkey)

    def remove_certkey(self, name: str) -> CertKey:
        certkey = self.certkeys.pop(name)
        self._unindex(certkey)
        if certkey.link:
            self.children.get(certkey.link, set()).discard(name)
        self.children.pop(name, None)
        self.cert_bindings.pop(name, None)
        return certkey

    def set_link(self, name: str, ca: str | None) -> None:
        certkey = self.certkeys[name]
        if certkey.link:
            self.children.get(certkey.link, set()).discard(name)
        certkey.link = ca
        if ca:
            self.children.setdefault(ca, set()).add(name)

    # -- bindings ------------------------------------------------------------------------------
    def add_binding(self, binding: Binding) -> None:
        key = (binding.certkey, binding.snicert, binding.ca)
        vserver = self.vservers[binding.vserver]
        vserver.bindings[key] = binding
        if binding.snicert:
            vserver.index_sni(binding.certkey, self.certkeys[binding.certkey].info.domains, add=True)
        self.cert_bindings.setdefault(binding.certkey, set()).add(
            (binding.vserver, binding.snicert, binding.ca)
        )

    def remove_binding(self, vserver: str, key: BindingKey) -> None:
        self.vservers[vserver].bindings.pop(key)
        if key[1]:
            self.vservers[vserver].index_sni(key[0], self.certkeys[key[0]].info.domains, add=False)
        self.cert_bindings.get(key[0], set()).discard((vserver, key[1], key[2]))

    def bindings_of(self, certkey: str) -> list[Binding]:
        return [
            self.vservers[vs].bindings[(certkey, sni, ca)]
            for vs, sni, ca in sorted(self.cert_bindings.get(certkey, ()))
        ]

    # -- running vs saved ------------------------------------------------------------------------
    def changed(self) -> None:
        self.configchanged = True
        self.last_changed = now()

    def running_config(self) -> dict[str, Any]:
        return {
            "certkeys": {
                c.name: {"cert": c.cert, "key": c.key, "serial": c.info.serial, "linkcertkeyname": c.link}
                for c in self.certkeys.values()
                if not c.builtin
            },
            "bindings": sorted(
                (
                    [b.vserver, b.certkey, b.snicert, b.ca]
                    for vs in self.vservers.values()
                    for b in vs.bindings.values()
                ),
            ),
            "snienable": sorted(vs.name for vs in self.vservers.values() if vs.snienable),
            "clientauth": {vs.name: vs.clientcert for vs in self.vservers.values() if vs.clientcert},
        }

    def save(self) -> None:
        self.saved = self.running_config()  # freshly built: later changes cannot leak into it
        self.saved_objects = self._objects()
        self.configchanged = False
        self.last_saved = now()
        self.saves += 1

    def _objects(self) -> dict[str, Any]:
        """Copies of the running configuration's objects (a CertInfo is never changed in place)."""
        return {
            "certkeys": {name: replace(c) for name, c in self.certkeys.items()},
            "by_fingerprint": dict(self.by_fingerprint),
            "by_subject": {k: set(v) for k, v in self.by_subject.items()},
            "children": {k: set(v) for k, v in self.children.items()},
            "vservers": {
                name: replace(vs, bindings=dict(vs.bindings), sni_domains=dict(vs.sni_domains))
                for name, vs in self.vservers.items()
            },
            "cert_bindings": {k: set(v) for k, v in self.cert_bindings.items()},
            "vpn_global": set(self.vpn_global),
        }

    def reboot(self) -> None:
        """What a restart leaves: the saved configuration running again, every file kept.
        Whatever was applied but not saved is gone (NetScaler loads ns.conf at boot)."""
        for name, value in self.saved_objects.items():
            setattr(self, name, value)
        self.saved_objects = self._objects()  # the next reboot starts from the same saved copy
        # ns.conf's `add ssl certKey` fails at boot for a certkey whose file is gone (1647): it is
        # not loaded, and neither are its bindings or the links to and from it.
        for certkey in [c for c in self.certkeys.values() if not c.builtin]:
            if any(given and self.read_path(given) is None for given in (certkey.cert, certkey.key)):
                self._unload(certkey.name)
        self.configchanged = False
        self.last_changed = None

    def _unload(self, name: str) -> None:
        for vs, sni, ca in list(self.cert_bindings.get(name, ())):
            self.remove_binding(vs, (name, sni, ca))
        for child in list(self.children.get(name, ())):
            self.set_link(child, None)
        self.vpn_global.discard(name)
        self.remove_certkey(name)

    def dump(self) -> dict[str, Any]:
        running = self.running_config()
        return {
            "files": {
                f"{location}/{name}" if location != "/" else f"/{name}": {
                    "size": len(stored.content),
                    "sha256": hashlib.sha256(stored.content).hexdigest(),
                }
                for location, directory in sorted(self.files.items())
                for name, stored in sorted(directory.items())
            },
            "certkeys": {
                c.name: {
                    "cert": c.cert,
                    "key": c.key,
                    "serial": c.info.serial,
                    "subject": c.info.subject.strip(),
                    "issuer": c.info.issuer.strip(),
                    "notafter": openssl_date(c.info.not_after),
                    "fingerprint": c.info.fingerprint,
                    "certificatetype": c.info.certificatetype,
                    "linkcertkeyname": c.link,
                    "builtin": c.builtin,
                    # What `show ssl certKey` tells by `passcrypt`: the key file is encrypted at rest.
                    "key_encrypted": bool(c.key and b"ENCRYPTED" in (self.read_path(c.key) or b"")),
                }
                for c in self.certkeys.values()
            },
            "links": {c.name: c.link for c in self.certkeys.values() if c.link},
            "bindings": [
                {"vserver": vs, "certkey": ck, "snicert": sni, "ca": ca}
                for vs, ck, sni, ca in running["bindings"]
            ],
            "vservers": {
                vs.name: {
                    "type": vs.kind,
                    "ssl": vs.ssl,
                    "snienable": vs.snienable,
                    "clientcert": vs.clientcert,
                }
                for vs in self.vservers.values()
            },
            "running": running,
            "saved": self.saved,
            "configchanged": self.configchanged,
            "saves": self.saves,
        }


def parse_vserver_seed(seed: str) -> tuple[str, str]:
    name, _, kind = seed.partition(":")
    kind = kind or "lb"
    if kind not in VSERVER_KINDS:
        raise ValueError(f"vserver type must be one of {VSERVER_KINDS}, not {kind!r}")
    return name, kind


class ApplianceState:
    """All partitions of one appliance plus its version. The HA role belongs to the node serving
    it (`NitroApp.ha_state`): the two nodes of an HA pair share one state."""

    def __init__(self, config: SimulatorConfig, builtin: CertInfo | None = None) -> None:
        self.config = config
        self.version = config.version
        self._builtin = builtin
        #: called with the default partition after `ns-server-certificate` changed (the runner
        #: sets it with `management_follows_builtin`: simulator/management_tls.py)
        self.on_management_change: Callable[[Partition], None] | None = None
        self.partitions: dict[str, Partition] = {}
        for name in ("default", *config.partitions):
            self.partitions[name] = self._new_partition(name)

    def _new_partition(self, name: str) -> Partition:
        part = Partition(name)
        for seed in self.config.ssl_vservers:
            vs_name, kind = parse_vserver_seed(seed)
            part.vservers[vs_name] = VServer(
                vs_name, kind, True, snienable=vs_name in self.config.sni_vservers
            )
        for seed in self.config.non_ssl_vservers:
            vs_name, kind = parse_vserver_seed(seed)
            part.vservers[vs_name] = VServer(vs_name, kind, False)
        if self._builtin is not None and name == "default":
            part.add_certkey(
                CertKey(
                    BUILTIN_CERTKEY, "ns-server.cert", "ns-server.key", "PEM", self._builtin, builtin=True
                )
            )
        part.save()
        return part

    @property
    def default(self) -> Partition:
        return self.partitions["default"]

    def dump(self) -> dict[str, Any]:
        """JSON-able: the default partition at top level, every partition under `partitions`."""
        out = self.default.dump()
        out["partitions"] = {name: part.dump() for name, part in self.partitions.items() if name != "default"}
        out["version"] = self.version
        return out
