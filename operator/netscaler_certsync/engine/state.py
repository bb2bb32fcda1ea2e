"""A snapshot of the appliance, as far as the sync needs it, and how to read it in few requests.

`read_state()` costs two requests (every certkey with its link, every binding in bulk); the list
of SSL vservers and of files is read only when asked (`with_vservers`, `with_files`), so a no-op
apply reads the same small number of times whatever the number of certificates.
"""

from __future__ import annotations

import functools
import posixpath
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from netscaler_certsync.domain import file_tag, is_ca_certkey_name, is_ca_file_name, leaf_file_owner
from netscaler_certsync.engine.model import BindingSpec
from netscaler_certsync.nitro import CertBinding, CertKey, NitroClient, RequestEvent


@dataclass(frozen=True)
class ApplianceState:
    certkeys: Mapping[str, CertKey]
    bindings: frozenset[CertBinding] = frozenset()
    vservers: frozenset[str] | None = None
    """SSL vserver names, or None when not read."""
    files: frozenset[str] | None = None
    """File names in the SSL directory, or None when not read."""
    _by_certkey: dict[str, set[BindingSpec]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _defaults: dict[str, set[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for b in self.bindings:
            if not b.ca:
                self._by_certkey.setdefault(b.certkey, set()).add(BindingSpec(b.vserver, b.sni))
                if not b.sni:
                    self._defaults.setdefault(b.vserver, set()).add(b.certkey)

    @classmethod
    def of(
        cls,
        certkeys: Iterable[CertKey],
        bindings: Iterable[CertBinding] = (),
        *,
        vservers: Iterable[str] | None = None,
        files: Iterable[str] | None = None,
    ) -> ApplianceState:
        return cls(
            certkeys={c.name: c for c in certkeys},
            bindings=frozenset(bindings),
            vservers=frozenset(vservers) if vservers is not None else None,
            files=frozenset(files) if files is not None else None,
        )

    def bindings_of(self, certkey: str) -> set[BindingSpec]:
        """Server and SNI bindings of a certkey (CA bindings are not ours to manage)."""
        return set(self._by_certkey.get(certkey, ()))

    def defaults_of(self, vserver: str) -> set[str]:
        """The certkeys bound to `vserver` as its default certificate (one per key type)."""
        return set(self._defaults.get(vserver, ()))

    def ca_bound(self) -> frozenset[str]:
        """Certkeys bound to some vserver with `-CA` (client authentication trusts them)."""
        return frozenset(b.certkey for b in self.bindings if b.ca)

    def bound_vservers(self) -> frozenset[str]:
        """Vservers that have at least one certificate bound (so they exist and are SSL)."""
        found: frozenset[str] | None = self.__dict__.get("_bound_vservers")
        if found is None:
            found = frozenset(b.vserver for b in self.bindings)
            object.__setattr__(self, "_bound_vservers", found)
        return found

    def cert_file(self, name: str) -> str | None:
        ck = self.certkeys.get(name)
        return _basename(ck.cert) if ck and ck.cert else None

    def key_file(self, name: str) -> str | None:
        ck = self.certkeys.get(name)
        return _basename(ck.key) if ck and ck.key else None

    def users_of(self, file: str) -> frozenset[str]:
        """The certkeys that load `file` (as certificate or key)."""
        index: dict[str, set[str]] | None = self.__dict__.get("_file_users")
        if index is None:
            index = {}
            for name in self.certkeys:
                for f in (self.cert_file(name), self.key_file(name)):
                    if f:
                        index.setdefault(f, set()).add(name)
            object.__setattr__(self, "_file_users", index)
        return frozenset(index.get(file, ()))

    # The indexes below are built once per state. A snapshot (engine/snapshot.py) is shared by
    # many applies, so the planner's questions about "every certkey" cost one pass per listing,
    # not one per apply (with 1,000 certkeys they were a quarter of a drift re-check's CPU).

    def owned_by(self, owner: str) -> frozenset[str]:
        """Leaf certkeys whose certificate file carries `owner`'s tag (see domain/naming.py)."""
        index: dict[str | None, set[str]] | None = self.__dict__.get("_owners")
        if index is None:
            index = {}
            for name in self.certkeys:
                file = self.cert_file(name)
                if file is not None:
                    index.setdefault(leaf_file_owner(file), set()).add(name)
            object.__setattr__(self, "_owners", index)
        return frozenset(index.get(owner, ()))

    def operator_cas(self) -> frozenset[str]:
        """CA certkeys with this operator's CA name and file name (`csca-...`, `cs-ca-...`)."""
        found: frozenset[str] | None = self.__dict__.get("_cas")
        if found is None:
            found = frozenset(
                n for n in self.certkeys if is_ca_certkey_name(n) and is_ca_file_name(self.cert_file(n) or "")
            )
            object.__setattr__(self, "_cas", found)
        return found

    def links_to(self) -> Mapping[str, int]:
        """How many certkeys link to each certkey (as their CA)."""
        found: Tally[str] | None = self.__dict__.get("_links_to")
        if found is None:
            found = Tally(ck.linked_to for ck in self.certkeys.values() if ck.linked_to)
            object.__setattr__(self, "_links_to", found)
        return found

    def referenced_files(self) -> frozenset[str]:
        """The files some certkey loads (as certificate or key)."""
        found: frozenset[str] | None = self.__dict__.get("_referenced")
        if found is None:
            found = frozenset(_basename(f) for ck in self.certkeys.values() for f in (ck.cert, ck.key) if f)
            object.__setattr__(self, "_referenced", found)
        return found

    def files_maybe_of(self, owner: str, cluster: str | None) -> list[str]:
        """Listed files that may be `owner`'s (of cluster `cluster`) to delete, sorted: its leaf
        files, the CA files of its cluster and of an earlier version, and every file an earlier
        version wrote (`PlanContext.owns_file` decides on each). Files of other owners, often
        thousands on a shared appliance, are never looked at again in a plan."""
        index: dict[tuple[str, str | None], set[str]] | None = self.__dict__.get("_file_owners")
        if index is None:
            index = {}
            for f in self.files or ():
                tag = file_tag(f)
                if tag is None:
                    continue
                if tag.scope is None:
                    index.setdefault(("ca", tag.cluster), set()).add(f)
                elif tag.cluster is None:
                    index.setdefault(("legacy", None), set()).add(f)
                else:
                    index.setdefault(("leaf", tag.owner), set()).add(f)
            object.__setattr__(self, "_file_owners", index)
        keys = (("leaf", owner), ("ca", cluster), ("ca", None), ("legacy", None))
        return sorted(set().union(*(index.get(k, ()) for k in keys)))

    def with_extra(
        self, *, vservers: Iterable[str] | None = None, files: Iterable[str] | None = None
    ) -> ApplianceState:
        extra = ApplianceState(
            certkeys=self.certkeys,
            bindings=self.bindings,
            vservers=frozenset(vservers) if vservers is not None else self.vservers,
            files=frozenset(files) if files is not None else self.files,
        )
        # The same certkeys and bindings: their indexes carry over (a plan is made twice, before
        # and after the files are read); the file index does not.
        for name in _CERTKEY_INDEXES:
            if name in self.__dict__:
                object.__setattr__(extra, name, self.__dict__[name])
        return extra


#: `ApplianceState` indexes that depend on its certkeys and bindings only.
_CERTKEY_INDEXES = (
    "_bound_vservers",
    "_file_users",
    "_owners",
    "_cas",
    "_links_to",
    "_referenced",
)


@functools.lru_cache(maxsize=1 << 16)
def _basename(path: str) -> str:
    """A file's name without its directory (cached: the planner asks for every certkey's)."""
    return posixpath.basename(path)


class Counter:
    """Counts every request of one apply as the client reports it (retries and read-backs included),
    by kind: reads (GET) and writes (anything else but login, logout and the partition switch that
    belongs to a login: none of them changes the configuration, so none calls for a save)."""

    def __init__(self) -> None:
        self.reads = 0
        self.writes = 0

    def __call__(self, event: RequestEvent) -> None:
        if event.resource in ("login", "logout", "nspartition"):
            return
        if event.method == "GET":
            self.reads += 1
        else:
            self.writes += 1


async def read_state(client: NitroClient, counter: Counter) -> ApplianceState:
    certkeys = await client.list_certkeys()
    bindings = await client.list_all_bindings()
    return ApplianceState.of(certkeys, bindings)


async def read_vservers(client: NitroClient, counter: Counter) -> list[str]:
    return [v.name for v in await client.list_ssl_vservers()]


async def read_files(client: NitroClient, counter: Counter, location: str) -> list[str]:
    return [f.filename for f in await client.list_files(location) if not f.is_directory]
