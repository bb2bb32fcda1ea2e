"""Which CertificateSyncs a changed TLS Secret concerns: a small in-memory index, no Secret data.

Fed from kopf events on CertificateSyncs (explicit Secret names, label selector, autoSync, and
the Secrets the status says the sync deployed) and queried by the TLS Secret watcher's callback.
Holds one small entry per CertificateSync, so its memory follows the number of syncs and what
they deploy, not the number of Secrets in the cluster.

A relabelled Secret concerns the selector-based syncs whose selection it may have entered or
left: those whose selector matches its new labels, and those that were using it (listed in
status, or marked here when a relabelling selected it and the status does not show it yet: a
deselection that follows quickly must still reach the sync that is deploying it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from netscaler_certsync.engine.model import CertState
from netscaler_certsync.k8s import keys
from netscaler_certsync.reconcile.specs import auto_sync

logger = logging.getLogger(__name__)

#: Set by the TLS Secret watcher on each CertificateSync a changed Secret concerns; the
#: CertificateSync handler reacts to a new value. It says which Secret version caused the sync.
SECRET_CHANGED = f"{keys.PREFIX}secret-changed"


@dataclass(frozen=True)
class SyncTrigger:
    secrets: frozenset[str]
    selector: Mapping[str, Any] | None
    auto_sync: bool
    #: Secrets the status lists as deployed (any state but Removed)
    deployed: frozenset[str] = frozenset()
    named_watches: frozenset[str] = frozenset()
    """Secrets the TLS watcher does not see (declared sources, passwords): each watched by name."""
    selector_watch: bool = False
    """The selector reads Opaque Secrets too (`secretSource`): watched by the selector itself."""
    configmaps: frozenset[str] = frozenset()
    """ConfigMaps with client-auth CA bundles (`bindings[].clientAuth`): each watched by name."""


def _password_of(source: Any) -> str | None:
    ref = source.get("passwordSecretRef") if isinstance(source, Mapping) else None
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return str(name) if name else None


def _bundle_refs(spec: Mapping[str, Any], kind: str) -> set[str]:
    """Names in `bindings[].clientAuth.caFrom.<kind>` (secretKeyRef or configMapKeyRef)."""
    names = set()
    for binding in spec.get("bindings") or ():
        auth = binding.get("clientAuth") if isinstance(binding, Mapping) else None
        ca_from = auth.get("caFrom") if isinstance(auth, Mapping) else None
        ref = ca_from.get(kind) if isinstance(ca_from, Mapping) else None
        if isinstance(ref, Mapping) and ref.get("name"):
            names.add(str(ref["name"]))
    return names


_NONE: frozenset[str] = frozenset()


def _frozen(names: set[str], *equal_to: frozenset[str]) -> frozenset[str]:
    """`names` as a frozenset: the shared empty one, or an equal one already made. A set costs
    216 bytes even with one name, and most syncs name one Secret that their status lists too:
    one object instead of four per sync in an index of thousands (docs/benchmarks.md)."""
    if not names:
        return _NONE
    return next((s for s in equal_to if s == names), None) or frozenset(names)


def trigger_of(spec: Mapping[str, Any], status: Mapping[str, Any] | None = None) -> SyncTrigger:
    entries = [c for c in spec.get("certificates") or () if isinstance(c, Mapping)]
    names = {str(c.get("secretName")) for c in entries}
    # A Secret read through a declared source may be Opaque, and a password Secret of any kind;
    # neither passes the TLS watcher's type selector, so each is followed by name.
    named = {str(c.get("secretName")) for c in entries if c.get("source") is not None}
    passwords = {p for c in entries if (p := _password_of(c.get("source")))}
    passwords |= _bundle_refs(spec, "secretKeyRef")  # a CA bundle: any type, followed by name
    selector = spec.get("secretSelector") or None
    selected_source = spec.get("secretSource")
    if selector is not None and (p := _password_of(selected_source)):
        passwords.add(p)
    secrets = _frozen(names | passwords)
    deployed = _frozen(
        {
            str(e.get("secretName"))
            for e in (status or {}).get("certificates") or ()
            if isinstance(e, Mapping) and e.get("state") != CertState.REMOVED
        },
        secrets,
    )
    return SyncTrigger(
        secrets,
        selector,
        auto_sync(spec),
        deployed,
        _frozen(named | passwords, secrets, deployed),
        selector is not None and selected_source is not None,
        _frozen(_bundle_refs(spec, "configMapKeyRef")),
    )


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics (matchLabels AND every matchExpression)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or ())
        present = key in labels
        if (
            (op == "In" and (not present or labels[key] not in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


class TriggerIndex:
    def __init__(self) -> None:
        self._by_sync: dict[tuple[str, str], SyncTrigger] = {}
        #: Secrets a relabelling selected for a sync whose status does not list them yet
        self._entering: dict[tuple[str, str], set[str]] = {}
        self.on_change: Callable[[], None] | None = None
        """Called when a sync's Secrets changed (the watches by name may have to follow)."""
        #: Per object a watch by name follows ((plural, namespace, name): a bundle ConfigMap, a
        #: shard's Secret), the versions reconciles read (None: it was absent) that no report of
        #: its watch has covered yet: its first list is compared with them (`read_other`).
        self._reads: dict[tuple[str, str, str], set[str | None]] = {}
        #: Syncs whose reconcile reads their Secrets on its own: kopf listed them when this process
        #: started (its resume handler), new ones (kopf's create handler), or this process marked
        #: them since they arrived. A handled sync that arrives later may be reconciled by nobody
        #: otherwise (one moved into a shard).
        self._reconciling: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self._by_sync)

    def items(self) -> list[tuple[tuple[str, str], SyncTrigger]]:
        return list(self._by_sync.items())

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def update(
        self,
        namespace: str,
        name: str,
        spec: Mapping[str, Any],
        status: Mapping[str, Any] | None = None,
        *,
        resumed: bool = False,
    ) -> None:
        """`resumed`: a kopf handler reconciles the sync on its own (kopf listed it at start and
        resumes it, or it is new and gets the create handler), so it reads its Secrets itself."""
        trig = trigger_of(spec, status)
        if resumed:
            self._reconciling.add((namespace, name))
        old = self._by_sync.get((namespace, name))
        self._by_sync[(namespace, name)] = trig
        if old is None or (old.named_watches, old.selector, old.selector_watch, old.configmaps) != (
            trig.named_watches,
            trig.selector,
            trig.selector_watch,
            trig.configmaps,
        ):
            self._changed()
        entering = self._entering.get((namespace, name))
        if entering:
            entering -= trig.deployed  # the status speaks for these now
            if not entering:
                del self._entering[(namespace, name)]

    def remove(self, namespace: str, name: str) -> None:
        self._entering.pop((namespace, name), None)
        self._reconciling.discard((namespace, name))
        if self._by_sync.pop((namespace, name), None) is not None:
            self._changed()

    def relabelled(self, namespace: str, secret: str, labels: Mapping[str, str] | None) -> list[str]:
        """Selector-based syncs (with autoSync) whose selection `secret`, now labelled `labels`
        (None: gone), may have entered or left."""
        out = []
        for (ns, name), trig in self._by_sync.items():
            if ns != namespace or not trig.auto_sync or trig.selector is None or secret in trig.secrets:
                continue
            entering = self._entering.get((ns, name), set())
            now = labels is not None and selector_matches(trig.selector, labels)
            if now or secret in trig.deployed or secret in entering:
                out.append(name)
            if now and secret not in trig.deployed:
                self._entering.setdefault((ns, name), set()).add(secret)
            elif not now:
                entering.discard(secret)
        return sorted(out)

    def syncs_for_configmap(self, namespace: str, configmap: str) -> list[str]:
        """Syncs (with autoSync) in `namespace` whose client-auth CA bundle is in `configmap`."""
        return sorted(
            name
            for (ns, name), trig in self._by_sync.items()
            if ns == namespace and trig.auto_sync and configmap in trig.configmaps
        )

    def read(self, plural: str, namespace: str, name: str, version: str | None) -> None:
        """A reconcile read this version of an object followed by name (None: it was absent)."""
        self._reads.setdefault((plural, namespace, name), set()).add(version)

    def reported(self, plural: str, namespace: str, name: str) -> None:
        """The object's watch reported a change: the syncs it marks read it again, whatever they read."""
        self._reads.pop((plural, namespace, name), None)

    def read_other(self, plural: str, namespace: str, name: str, listed: str | None) -> bool:
        """Whether a reconcile read another version than `listed` (the watch's first list, None:
        absent) before the watch listed it: that change is in no watch event, the syncs must look.
        No read at all is no change: the syncs' reconciles still to come read what is there now
        (a sync no reconcile may come to is `unreconciled`)."""
        read = self._reads.pop((plural, namespace, name), None)
        return False if read is None else bool(read - {listed})

    def unreconciled(self, namespace: str, secret: str) -> list[str]:
        """Syncs (with autoSync) naming `secret` that no reconcile reads on its own: neither listed
        at start (kopf resumes those) nor marked since they arrived (`reconciling`)."""
        return sorted(
            sync
            for (ns, sync), trig in self._by_sync.items()
            if ns == namespace
            and trig.auto_sync
            and secret in trig.secrets
            and (ns, sync) not in self._reconciling
        )

    def reconciling(self, namespace: str, sync: str, *, marked: bool = True) -> None:
        """The sync was marked (a reconcile comes and reads its Secrets), or with `marked` False,
        the mark failed after all."""
        if not marked:
            self._reconciling.discard((namespace, sync))
        elif (namespace, sync) in self._by_sync:
            self._reconciling.add((namespace, sync))

    def forget_reads(self, plural: str, namespace: str, name: str) -> None:
        """The object's watch by name stopped (no sync uses it): its reads matter no more."""
        self._reads.pop((plural, namespace, name), None)

    def has_selectors(self, namespace: str) -> bool:
        return any(ns == namespace and t.selector is not None for (ns, _), t in self._by_sync.items())

    def syncs_for(
        self, namespace: str, secret: str, labels: Mapping[str, str] | None, *, auto_only: bool = True
    ) -> list[str]:
        """Syncs in `namespace` that name `secret` or select it by label.

        With `labels` None (the Secret is gone, or its labels are unknown) every selector-based
        sync of the namespace is included: re-syncing one that did not use the Secret costs reads
        only, while missing one would leave a removed certificate on the appliance.
        """
        out = []
        for (ns, name), trig in self._by_sync.items():
            if ns != namespace or (auto_only and not trig.auto_sync):
                continue
            if secret in trig.secrets or (
                trig.selector is not None and (labels is None or selector_matches(trig.selector, labels))
            ):
                out.append(name)
        return sorted(out)


async def configmap_changed(
    index: TriggerIndex, namespace: str, configmap: str, version: str, annotate: Annotate
) -> list[str]:
    """Mark every CertificateSync (with autoSync) whose CA bundle is in `configmap`."""
    names = index.syncs_for_configmap(namespace, configmap)
    logger.debug(
        "ConfigMap %s/%s changed (%s): syncing %s", namespace, configmap, version, names or "nothing"
    )
    for name in names:
        try:
            await annotate(namespace, name, f"configmap/{configmap}@{version}")
        except Exception:  # one failed patch must not stop the others; the drift check catches up
            logger.exception(
                "could not mark CertificateSync %s/%s for ConfigMap %s", namespace, name, configmap
            )
    return names


#: (namespace, sync name, annotation value) -> patch the CertificateSync's annotation.
Annotate = Callable[[str, str, str], Awaitable[None]]
#: (namespace, secret name) -> the Secret's labels, or None when it is gone.
LabelsOf = Callable[[str, str], Awaitable[Mapping[str, str] | None]]


async def secret_changed(
    index: TriggerIndex,
    namespace: str,
    secret: str,
    version: str,
    labels_of: LabelsOf,
    annotate: Annotate,
    *,
    relabelled: bool = False,
) -> list[str]:
    """Mark every CertificateSync (with autoSync) that uses `secret`; returns their names.

    `relabelled`: only the Secret's labels changed, so only selections can have changed.
    """
    labels = None
    if relabelled:
        if not index.has_selectors(namespace):
            return []
        names = index.relabelled(namespace, secret, await labels_of(namespace, secret))
    else:
        if version != "deleted" and index.has_selectors(namespace):
            labels = await labels_of(namespace, secret)
        names = index.syncs_for(namespace, secret, labels)
    logger.debug("TLS Secret %s/%s changed (%s): syncing %s", namespace, secret, version, names or "nothing")
    for name in names:
        try:
            await annotate(namespace, name, f"{secret}@{version}")
        except Exception:  # one failed patch must not stop the others; the drift check catches up
            logger.exception("could not mark CertificateSync %s/%s for Secret %s", namespace, name, secret)
    return names
