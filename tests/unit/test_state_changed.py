"""`ApplianceState.changed`: a snapshot's indexes carried over an apply answer as a fresh listing's.

The planner asks a state about every certkey (owners, file users, CA certkeys, links, bindings,
files by owner); the snapshot of a busy appliance carries those indexes from apply to apply
instead of rebuilding them, so each answer after `changed` must be the one a state built from
scratch over the same certkeys, bindings and files gives.
"""

from __future__ import annotations

import hashlib

from netscaler_certsync.domain import ca_certkey_name, ca_file_name, leaf_file_names
from netscaler_certsync.engine.state import ApplianceState
from netscaler_certsync.nitro import CertBinding, CertKey

CLUSTER = "c0ffee"
SSL = "/nitro/config/ssl/"


def _fp(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def _leaf(owner: str, seed: str, ca: str | None) -> tuple[CertKey, tuple[str, str]]:
    files = leaf_file_names(owner, _fp(seed))
    return CertKey(f"ck-{seed}", SSL + files.cert, SSL + files.key, linked_to=ca), (files.cert, files.key)


def _answers(
    state: ApplianceState, owners: list[str], names: list[str], vservers: list[str]
) -> dict[str, object]:
    return {
        "owned": {o: state.owned_by(o) for o in owners},
        "files": {o: state.files_maybe_of(o, CLUSTER) for o in owners},
        "users": {
            f: state.users_of(f) for f in sorted(state.referenced_files() | (state.files or frozenset()))
        },
        "referenced": state.referenced_files(),
        "cas": state.operator_cas(),
        "links": dict(state.links_to()),
        "bindings": {n: state.bindings_of(n) for n in names},
        "defaults": {v: state.defaults_of(v) for v in vservers},
        "bound": state.bound_vservers(),
    }


def test_changed_answers_as_a_state_built_afresh() -> None:
    ca_name = ca_certkey_name(_fp("ca"))
    ca = CertKey(ca_name, SSL + ca_file_name(_fp("ca"), CLUSTER))
    owners = [f"{CLUSTER}-{scope}" for scope in ("aaaaaaaa", "bbbbbbbb", "cccccccc")]
    certkeys, files, bindings = [ca], {ca_file_name(_fp("ca"), CLUSTER), "foreign.pem"}, set()
    for i in range(12):
        ck, pair = _leaf(owners[i % 3], f"s{i}", ca_name if i % 2 else None)
        certkeys.append(ck)
        files |= set(pair)
        bindings.add(CertBinding("vs_sni", ck.name, sni=True))
    bindings |= {
        CertBinding("vs_https", "ck-s0"),
        CertBinding("vs_two", "ck-s1"),
        CertBinding("vs_https", ca_name, ca=True),
    }
    before = ApplianceState.of(certkeys, bindings, vservers=["vs_https", "vs_sni", "vs_two"], files=files)
    names = [c.name for c in certkeys] + ["ck-new"]
    vservers = ["vs_https", "vs_sni", "vs_two"]
    _answers(before, owners, names, vservers)  # builds every index, so that `changed` carries them

    new, new_files = _leaf(owners[0], "new", ca_name)
    renewed, renewed_files = _leaf(owners[0], "s1-renewed", ca_name)
    renewed = CertKey("ck-s1", renewed.cert, renewed.key, linked_to=ca_name)  # same name, new owner and files
    old_s1 = next(c for c in certkeys if c.name == "ck-s1")
    old_s1_files = {f.rsplit("/", 1)[-1] for f in (old_s1.cert or "", old_s1.key or "")}
    after = before.changed(
        {"ck-new": new, "ck-s1": renewed, "ck-s2": None},
        bind=[CertBinding("vs_sni", "ck-new", sni=True), CertBinding("vs_two", "ck-new")],
        unbind=[CertBinding("vs_sni", "ck-s2", sni=True), CertBinding("vs_two", "ck-s1")],
        add_files=[*new_files, *renewed_files],
        drop_files=old_s1_files,
    )
    kept = [c for c in certkeys if c.name not in ("ck-s1", "ck-s2")] + [new, renewed]
    rebuilt = ApplianceState.of(
        kept,
        (bindings - {CertBinding("vs_sni", "ck-s2", sni=True), CertBinding("vs_two", "ck-s1")})
        | {CertBinding("vs_sni", "ck-new", sni=True), CertBinding("vs_two", "ck-new")},
        vservers=vservers,
        files=(files - old_s1_files) | set(new_files) | set(renewed_files),
    )
    assert after == rebuilt
    assert after.owned_by(owners[0]) == {"ck-s0", "ck-s3", "ck-s6", "ck-s9", "ck-new", "ck-s1"}
    assert _answers(after, owners, names, vservers) == _answers(rebuilt, owners, names, vservers)
    # and the state it came from still answers as before (its indexes are not shared and edited)
    assert _answers(before, owners, names, vservers) == _answers(
        ApplianceState.of(certkeys, bindings, vservers=vservers, files=files), owners, names, vservers
    )
