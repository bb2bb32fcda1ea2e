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
from dataclasses import dataclass
from typing import Any

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

    def _binding_indexes(self) -> tuple[dict[str, set[BindingSpec]], dict[str, set[str]]]:
        """Per certkey its server and SNI bindings; per vserver its default certkeys."""
        by_certkey: dict[str, set[BindingSpec]] | None = self.__dict__.get("_by_certkey")
        defaults: dict[str, set[str]] | None = self.__dict__.get("_defaults")
        if by_certkey is None or defaults is None:
            by_certkey, defaults = {}, {}
            for b in self.bindings:
                if not b.ca:
                    by_certkey.setdefault(b.certkey, set()).add(BindingSpec(b.vserver, b.sni))
                    if not b.sni:
                        defaults.setdefault(b.vserver, set()).add(b.certkey)
            object.__setattr__(self, "_by_certkey", by_certkey)
            object.__setattr__(self, "_defaults", defaults)
        return by_certkey, defaults

    def bindings_of(self, certkey: str) -> set[BindingSpec]:
        """Server and SNI bindings of a certkey (CA bindings are not ours to manage)."""
        return set(self._binding_indexes()[0].get(certkey, ()))

    def defaults_of(self, vserver: str) -> set[str]:
        """The certkeys bound to `vserver` as its default certificate (one per key type)."""
        return set(self._binding_indexes()[1].get(vserver, ()))

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

    def _users_index(self) -> dict[str, set[str]]:
        index: dict[str, set[str]] | None = self.__dict__.get("_file_users")
        if index is None:
            index = {}
            for name, ck in self.certkeys.items():
                for f in _files_of(ck):
                    index.setdefault(f, set()).add(name)
            object.__setattr__(self, "_file_users", index)
        return index

    def users_of(self, file: str) -> frozenset[str]:
        """The certkeys that load `file` (as certificate or key)."""
        return frozenset(self._users_index().get(file, ()))

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
            found = frozenset(n for n in self.certkeys if _operator_ca(self, n))
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
            found = frozenset(self._users_index())
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
                key = _file_owner_key(f)
                if key is not None:
                    index.setdefault(key, set()).add(f)
            object.__setattr__(self, "_file_owners", index)
        keys = (("leaf", owner), ("ca", cluster), ("ca", None), ("legacy", None))
        return sorted(set().union(*(index.get(k, ()) for k in keys)))

    def changed(
        self,
        certkeys: Mapping[str, CertKey | None],
        *,
        bind: Iterable[CertBinding] = (),
        unbind: Iterable[CertBinding] = (),
        add_files: Iterable[str] = (),
        drop_files: Iterable[str] = (),
    ) -> ApplianceState:
        """This state after a few changes (`certkeys`: new or re-read ones, None for deleted): what
        an apply leaves the next one (engine/snapshot.py). The indexes built so far are carried
        over and updated, so a burst of applies on one appliance does not pay for rebuilding them
        over every certkey each time (each new CertificateSync would cost O(appliance))."""
        merged = dict(self.certkeys)
        for name, ck in certkeys.items():
            if ck is None:
                merged.pop(name, None)
            else:
                merged[name] = ck
        bindings = (self.bindings - frozenset(unbind)) | frozenset(bind)
        files = self.files
        if files is not None:
            files = (files - frozenset(drop_files)) | frozenset(add_files)
        after = ApplianceState(merged, bindings, self.vservers, files)
        _carry_binding_indexes(self, after)
        _carry_certkey_indexes(self, after, {n: self.certkeys.get(n) for n in certkeys})
        _carry_file_index(self, after)
        return after

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


def _files_of(ck: CertKey) -> tuple[str, ...]:
    return tuple(_basename(f) for f in (ck.cert, ck.key) if f)


def _edit(index: dict[Any, set[Any]], copied: set[Any], key: Any, value: Any, *, add: bool) -> None:
    """Add `value` to (or remove it from) `index[key]`, copying that set once first (the old
    state shares the others); an emptied set is removed."""
    if key not in copied:
        index[key] = set(index.get(key, ()))
        copied.add(key)
    if add:
        index[key].add(value)
    else:
        index[key].discard(value)
        if not index[key]:
            del index[key]
            copied.discard(key)


def _carry_binding_indexes(before: ApplianceState, after: ApplianceState) -> None:
    if "_by_certkey" not in before.__dict__:
        return
    old_by, old_defaults = before._binding_indexes()
    by, defaults = dict(old_by), dict(old_defaults)
    copied_by: set[Any] = set()
    copied_defaults: set[Any] = set()
    gone, new = before.bindings - after.bindings, after.bindings - before.bindings
    for bindings, add in ((gone, False), (new, True)):
        for b in bindings:
            if b.ca:
                continue
            _edit(by, copied_by, b.certkey, BindingSpec(b.vserver, b.sni), add=add)
            if not b.sni:
                _edit(defaults, copied_defaults, b.vserver, b.certkey, add=add)
    object.__setattr__(after, "_by_certkey", by)
    object.__setattr__(after, "_defaults", defaults)
    bound: frozenset[str] | None = before.__dict__.get("_bound_vservers")
    if bound is not None and not gone:
        object.__setattr__(after, "_bound_vservers", bound | {b.vserver for b in new})


def _carry_certkey_indexes(
    before: ApplianceState, after: ApplianceState, old: Mapping[str, CertKey | None]
) -> None:
    """The certkey indexes of `after`, from `before`'s and the certkeys that changed (`old`: what
    `before` had under each changed name)."""
    cached = before.__dict__
    changes = [(name, ck, after.certkeys.get(name)) for name, ck in old.items()]
    if "_file_users" in cached:
        users, copied = dict(cached["_file_users"]), set()
        for name, was, now in changes:
            for f in _files_of(was) if was else ():
                _edit(users, copied, f, name, add=False)
            for f in _files_of(now) if now else ():
                _edit(users, copied, f, name, add=True)
        object.__setattr__(after, "_file_users", users)
    if "_owners" in cached:
        owners, copied = dict(cached["_owners"]), set()
        for name, was, now in changes:
            if was is not None and was.cert:
                _edit(owners, copied, leaf_file_owner(_basename(was.cert)), name, add=False)
            if now is not None and now.cert:
                _edit(owners, copied, leaf_file_owner(_basename(now.cert)), name, add=True)
        object.__setattr__(after, "_owners", owners)
    if "_cas" in cached:
        cas = set(cached["_cas"]) - set(old)
        cas |= {n for n, _, now in changes if now is not None and _operator_ca(after, n)}
        object.__setattr__(after, "_cas", frozenset(cas))
    if "_links_to" in cached:
        links: Tally[str] = Tally(cached["_links_to"])
        for _, was, now in changes:
            if was is not None and was.linked_to:
                links[was.linked_to] -= 1
                if links[was.linked_to] <= 0:
                    del links[was.linked_to]
            if now is not None and now.linked_to:
                links[now.linked_to] += 1
        object.__setattr__(after, "_links_to", links)


def _operator_ca(state: ApplianceState, name: str) -> bool:
    return is_ca_certkey_name(name) and is_ca_file_name(state.cert_file(name) or "")


def _carry_file_index(before: ApplianceState, after: ApplianceState) -> None:
    index: dict[tuple[str, str | None], set[str]] | None = before.__dict__.get("_file_owners")
    if index is None or before.files is None or after.files is None:
        return
    carried, copied = dict(index), set()
    for files, add in ((before.files - after.files, False), (after.files - before.files, True)):
        for f in files:
            key = _file_owner_key(f)
            if key is not None:
                _edit(carried, copied, key, f, add=add)
    object.__setattr__(after, "_file_owners", carried)


#: `ApplianceState` indexes that depend on its certkeys and bindings only.
_CERTKEY_INDEXES = (
    "_by_certkey",
    "_defaults",
    "_bound_vservers",
    "_file_users",
    "_owners",
    "_cas",
    "_links_to",
    "_referenced",
)


def _file_owner_key(f: str) -> tuple[str, str | None] | None:
    """Which group of `files_maybe_of` a file is in: a leaf's owner, a cluster's CA, or legacy."""
    tag = file_tag(f)
    if tag is None:
        return None
    if tag.scope is None:
        return ("ca", tag.cluster)
    if tag.cluster is None:
        return ("legacy", None)
    return ("leaf", tag.owner)


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
