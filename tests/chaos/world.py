"""What the chaos run does to the cluster (seeded churn) and what the appliance must then hold.

The model is the test's own record of every Secret and CertificateSync it wrote; the oracle
(`violations`) compares the appliance with what the live syncs account for, using only the
model, never the operator's status: a certkey per selected Secret with that Secret's serial,
linked to its issuer, bound exactly where the spec says; nothing else of ours, foreign objects
as they were, saved configuration equal to running. Every message names the object and whose
it is (or was), so a failing seed reads as a bug report.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from certsync_devkit import k8s_builders as build
from certsync_devkit.pki import Issued, TestPKI, make_leaf, pem_bundle
from netscaler_certsync.k8s import keys

NS = "default"
G, V = keys.GROUP, keys.VERSION
SNI = {"vserver": "cs_sni", "sni": True}
#: named syncs: secret, and the binding sets the churn picks from (a default vserver per sync)
NAMED: dict[str, tuple[str, list[list[dict[str, Any]]]]] = {
    "one": ("n0", [[{"vserver": "vs_https"}], [{"vserver": "vs_https"}, SNI], []]),
    "two": ("n1", [[{"vserver": "vs_two"}], [SNI], []]),
    "three": ("n2", [[SNI], []]),
}
#: selector syncs and the groups each may select (disjoint, so no Secret is in two syncs)
SELECTORS = {"sel1": ("g1", "g3"), "sel2": ("g2", "g4")}
GROUPS = ("g1", "g2", "g3", "g4", None)
LABELLED = ("l0", "l1", "l2", "l3")
FOREIGN_CERTKEY, FOREIGN_FILES = "foreign-ck", ("foreign.crt", "foreign.key")


@dataclass
class SecretModel:
    leaf: Issued
    issuer: str  # "a" or "b"
    group: str | None = None


@dataclass
class World:
    rng: random.Random
    api: client.ApiClient
    pkis: dict[str, TestPKI]
    secrets: dict[str, SecretModel] = field(default_factory=dict)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    #: serial -> "secret X (sync Y)": whose a certkey was, for failure messages
    history: dict[str, str] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ Kubernetes writes
    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def crs(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def _data(self, s: SecretModel) -> dict[str, str]:
        crt = pem_bundle([s.leaf, self.pkis[s.issuer].intermediate])
        return {"tls.crt": build.b64(crt), "tls.key": build.b64(s.leaf.key_pem)}

    def _owner(self, secret: str) -> str:
        return next((n for n in self.live if secret in self.selected(n)), "no sync")

    def _remember(self, name: str) -> None:
        self.history[self.secrets[name].leaf.serial_hex] = f"secret {name}"

    def setup(self) -> None:
        for name in ("n0", "n1", "n2", *LABELLED):
            group = self.rng.choice(GROUPS) if name in LABELLED else None
            s = SecretModel(self.pkis["a"].leaf(f"{name}.example.com"), "a", group)
            self.secrets[name] = s
            self._remember(name)
            body = build.tls_secret(name, b"", b"", labels={"group": group} if group else None)
            body["data"] = self._data(s)
            self.core.create_namespaced_secret(NS, body)
        for sync, (secret, choices) in NAMED.items():
            self.specs[sync] = {"certificates": [{"secretName": secret}], "bindings": choices[0]}
        for sync, groups in SELECTORS.items():
            self.specs[sync] = {"secretSelector": {"matchLabels": {"group": groups[0]}}, "bindings": [SNI]}
        for sync in self.specs:
            self._create(sync)

    def _create(self, sync: str) -> None:
        body = {"connectionRefs": [{"name": "adc"}], **copy.deepcopy(self.specs[sync])}
        self.crs.create_namespaced_custom_object(
            G, V, NS, keys.SYNC_PLURAL, build.certificate_sync(sync, body)
        )
        self.live.add(sync)

    def _patch_spec(self, sync: str, **spec: Any) -> None:
        self.specs[sync].update(spec)
        if sync in self.live:
            self.crs.patch_namespaced_custom_object(G, V, NS, keys.SYNC_PLURAL, sync, {"spec": spec})

    def _renew(self, name: str, *, same_key: bool, new_issuer: bool) -> None:
        s = self.secrets[name]
        if new_issuer:
            s.issuer = "b" if s.issuer == "a" else "a"
        key = s.leaf.key if same_key else None
        s.leaf = make_leaf(self.pkis[s.issuer].intermediate, f"{name}.example.com", key=key)
        self._remember(name)
        self.core.patch_namespaced_secret(name, NS, {"data": self._data(s)})

    # ------------------------------------------------------------------ churn
    def step(self) -> str:
        """One random change; returns what it did (the run's log, for reproducing a seed)."""
        rng = self.rng
        kind = rng.choices(
            ["renew", "bindings", "label", "selector", "delete", "create"], weights=[7, 2, 3, 1, 1, 2]
        )[0]
        if kind == "renew":  # new key or the same key (--reuse-key), same issuer or the other one
            name = rng.choice(sorted(self.secrets))
            same_key, new_issuer = rng.random() < 0.4, rng.random() < 0.4
            self._renew(name, same_key=same_key, new_issuer=new_issuer)
            s = self.secrets[name]
            how = ("same key" if same_key else "new key") + (", new issuer" if new_issuer else "")
            what = f"renew {name} ({how}; serial {s.leaf.serial_hex}, issuer {s.issuer})"
        elif kind == "bindings":
            sync = rng.choice(sorted(NAMED))
            bindings = rng.choice(NAMED[sync][1])
            self._patch_spec(sync, bindings=bindings)
            what = f"bindings {sync} -> {[b['vserver'] for b in bindings]}"
        elif kind == "label":
            name = rng.choice(LABELLED)
            group = rng.choice(GROUPS)
            self.secrets[name].group = group
            self.core.patch_namespaced_secret(name, NS, {"metadata": {"labels": {"group": group}}})
            what = f"label {name} group={group}"
        elif kind == "selector":
            sync = rng.choice(sorted(SELECTORS))
            group = rng.choice(SELECTORS[sync])
            self._patch_spec(sync, secretSelector={"matchLabels": {"group": group}})
            what = f"selector {sync} group={group}"
        elif kind == "delete" and self.live:
            sync = rng.choice(sorted(self.live))
            self.crs.delete_namespaced_custom_object(G, V, NS, keys.SYNC_PLURAL, sync)
            self.live.discard(sync)
            what = f"delete {sync}"
        else:
            gone = sorted(set(self.specs) - self.live)
            if not gone:
                return "nothing to create"
            sync = rng.choice(gone)
            if self._exists(sync):
                return f"create {sync} postponed (its deletion is still running)"
            self._create(sync)
            what = f"create {sync}"
        self.log.append(what)
        return what

    def _exists(self, sync: str) -> bool:
        try:
            self.crs.get_namespaced_custom_object(G, V, NS, keys.SYNC_PLURAL, sync)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------------ what must hold
    def selected(self, sync: str) -> list[str]:
        spec = self.specs[sync]
        if "certificates" in spec:
            return [c["secretName"] for c in spec["certificates"]]
        group = spec["secretSelector"]["matchLabels"]["group"]
        return sorted(n for n in LABELLED if self.secrets[n].group == group)

    def not_ready(self) -> list[str]:
        """Live syncs not Ready for their latest generation, deleted ones still present."""
        out = []
        for sync in sorted(self.specs):
            try:
                obj = self.crs.get_namespaced_custom_object(G, V, NS, keys.SYNC_PLURAL, sync)
            except ApiException as exc:
                if exc.status != 404:
                    raise
                if sync in self.live:
                    out.append(f"sync {sync} is missing")
                continue
            if sync not in self.live:
                out.append(f"sync {sync} was deleted but is still there (finalizer not removed)")
                continue
            status = obj.get("status") or {}
            ready = next((c for c in status.get("conditions") or () if c["type"] == "Ready"), {})
            if (
                ready.get("status") != "True"
                or status.get("observedGeneration") != obj["metadata"]["generation"]
            ):
                out.append(f"sync {sync} not Ready: {ready.get('reason')}: {ready.get('message')}")
        return out

    def violations(self, state: dict[str, Any], foreign: dict[str, Any], invariants: list[str]) -> list[str]:
        out = [f"simulator invariant: {p}" for p in invariants]
        certkeys = {n: c for n, c in state["certkeys"].items() if not c["builtin"] and n != FOREIGN_CERTKEY}
        by_serial: dict[str, list[str]] = {}
        for name, ck in certkeys.items():
            by_serial.setdefault(ck["serial"], []).append(name)
        ca_serials = {p.intermediate.serial_hex: issuer for issuer, p in self.pkis.items()}
        bindings = {(b["certkey"], b["vserver"], b["snicert"]) for b in state["bindings"] if not b["ca"]}
        accounted: set[str] = set()
        wanted_bindings: set[tuple[str, str, bool]] = set()
        for sync in sorted(self.live):
            for secret in self.selected(sync):
                s = self.secrets[secret]
                names = by_serial.get(s.leaf.serial_hex, [])
                if len(names) != 1:
                    out.append(
                        f"sync {sync}, secret {secret}: {len(names)} certkeys with its serial "
                        f"{s.leaf.serial_hex} ({names}), expected 1"
                    )
                    continue
                [name] = names
                accounted.add(name)
                link = certkeys[name]["linkcertkeyname"]
                want_ca = self.pkis[s.issuer].intermediate.serial_hex
                if link is None or (certkeys.get(link) or {}).get("serial") != want_ca:
                    out.append(
                        f"sync {sync}, certkey {name}: linked to {link!r}, not to issuer {s.issuer}'s CA"
                    )
                elif link:
                    accounted.add(link)
                for b in self.specs[sync].get("bindings") or ():
                    wanted_bindings.add((name, b["vserver"], bool(b.get("sni", False))))
        for name in sorted(set(certkeys) - accounted):
            serial = certkeys[name]["serial"]
            whose = self.history.get(serial) or (
                f"issuer {ca_serials[serial]}'s CA" if serial in ca_serials else "?"
            )
            out.append(f"orphan certkey {name} (serial {serial}, was {whose}): no live sync accounts for it")
        for ck, vs, sni in sorted(bindings - wanted_bindings):
            if ck != FOREIGN_CERTKEY:
                out.append(f"binding {ck} on {vs} (sni={sni}) is not in any live sync's spec")
        for ck, vs, sni in sorted(wanted_bindings - bindings):
            out.append(f"binding {ck} on {vs} (sni={sni}) is missing")
        referenced = {
            p.rsplit("/", 1)[-1] for c in state["certkeys"].values() for p in (c["cert"], c["key"]) if p
        }
        for path in sorted(state["files"]):
            base = path.rsplit("/", 1)[-1]
            if base.startswith("cs-") and base not in referenced:
                out.append(f"orphan file {path}: no certkey reads it")
        now = {
            "certkey": state["certkeys"].get(FOREIGN_CERTKEY),
            "files": {p: f for p, f in state["files"].items() if p.rsplit("/", 1)[-1] in FOREIGN_FILES},
            "bindings": [b for b in state["bindings"] if b["certkey"] == FOREIGN_CERTKEY],
        }
        for key in now:
            if now[key] != foreign[key]:
                out.append(f"foreign {key} changed: {foreign[key]} -> {now[key]}")
        if state["running"] != state["saved"] or state["configchanged"]:
            out.append(f"saved config differs from running (configchanged={state['configchanged']})")
        return out
