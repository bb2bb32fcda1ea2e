"""The Argo CD health checks in gitops/argocd give the documented verdicts, run by real Lua.

Argo CD runs health.lua in gopher-lua (Lua 5.1) with `obj` set to the resource and, unless
`useOpenLibs` is set, only the base, table and a safe os library. lupa's Lua 5.1 runs the script
here in an environment with just those, so a script that needs the string library fails here as
it would in Argo CD. Cases come from each kind's health_test.yaml, Argo CD's own test layout.
"""

from __future__ import annotations

from typing import Any

import lupa.lua51 as lua51
import pytest
import yaml

from netscaler_certsync.reconcile import conditions as oc

from .chart_helpers import ROOT

CHECKS = ROOT / "gitops" / "argocd" / "netscaler.certsync.dev"
KINDS = ("CertificateSync", "NetScalerConnection")

_RUNNER = """
function(source, obj)
  local chunk, err = loadstring(source, "=health.lua")
  if chunk == nil then error(err) end
  local env = {obj = obj, table = table}
  for _, name in ipairs({"assert", "error", "ipairs", "next", "pairs", "pcall", "select",
                         "tonumber", "tostring", "type", "unpack"}) do
    env[name] = _G[name]
  end
  setfenv(chunk, env)
  return chunk()
end
"""


def run_health(script: str, obj: dict[str, Any]) -> dict[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    assert lua.eval("_VERSION") == "Lua 5.1"
    result = lua.eval(_RUNNER)(script, lua.table_from(obj, recursive=True))
    return dict(result.items())


def _cases() -> list[tuple[str, str, dict[str, str]]]:
    cases = []
    for kind in KINDS:
        for test in yaml.safe_load((CHECKS / kind / "health_test.yaml").read_text())["tests"]:
            cases.append((kind, test["inputPath"], test["healthStatus"]))
    return cases


CASES = _cases()


@pytest.mark.parametrize(("kind", "input_path", "expected"), CASES, ids=[f"{k}/{p}" for k, p, _ in CASES])
def test_health_verdict(kind: str, input_path: str, expected: dict[str, str]) -> None:
    script = (CHECKS / kind / "health.lua").read_text()
    obj = yaml.safe_load((CHECKS / kind / input_path).read_text())
    assert obj["kind"] == kind
    assert run_health(script, obj) == expected


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_covers_healthy_progressing_and_degraded(kind: str) -> None:
    verdicts = {expected["status"] for k, _, expected in CASES if k == kind}
    assert verdicts >= {"Healthy", "Progressing", "Degraded"}
    listed = {path for k, path, _ in CASES if k == kind}
    on_disk = {f"testdata/{p.name}" for p in (CHECKS / kind / "testdata").glob("*.yaml")}
    assert listed == on_disk, "every testdata file is used by health_test.yaml"


def test_both_kinds_share_one_script() -> None:
    scripts = {(CHECKS / kind / "health.lua").read_text() for kind in KINDS}
    assert len(scripts) == 1


def test_the_sandbox_refuses_the_string_library() -> None:
    # Argo CD without useOpenLibs has no `string`: the runner must reproduce that, or a script
    # using string.format would pass here and fail in Argo CD.
    with pytest.raises(lua51.LuaError):
        run_health('return {status = string.format("%s", "Healthy")}', {})


def test_argocd_cm_embeds_the_same_scripts() -> None:
    cm = yaml.safe_load((ROOT / "gitops" / "argocd" / "argocd-cm-health.yaml").read_text())
    script = (CHECKS / "CertificateSync" / "health.lua").read_text()
    for kind in KINDS:
        assert cm["data"][f"resource.customizations.health.netscaler.certsync.dev_{kind}"] == script


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (lambda: oc.progressing("Uploading", "Uploading 1 certificate"), "Progressing"),
        (lambda: oc.ready("Synced", "1 certificate on 1 appliance"), "Healthy"),
        (lambda: oc.stalled("AuthenticationFailed", "login refused"), "Degraded"),
        # A dry run deploys nothing and nothing is wrong: not Healthy, not Degraded.
        (lambda: oc.idle("DryRun", "dry run: 3 operations planned"), "Suspended"),
    ],
    ids=["progressing", "ready", "stalled", "dry-run"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_verdicts_on_what_the_operator_writes(kind: str, conditions: Any, expected: str) -> None:
    # Built with the operator's own condition helpers, so a change in what it writes that the
    # health check would misread fails here.
    obj = {
        "kind": kind,
        "metadata": {"name": "x", "namespace": "web", "generation": 3},
        "status": {"observedGeneration": 3, "conditions": oc.merge_conditions(None, conditions(), 3)},
    }
    script = (CHECKS / kind / "health.lua").read_text()
    assert run_health(script, obj)["status"] == expected
