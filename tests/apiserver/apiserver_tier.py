"""The apiserver tier's session-level hooks: the build-or-skip policy, the build step outside any
test, and the terminal summary (policy and numbers: docs/testing.md, "The apiserver tier").

`tests/conftest.py` registers these hooks so they run in every layout of a session:

- serial (plain `pytest`): the build runs right after collection, when the tier was collected;
- under pytest-xdist (`make test` runs `-n 2`): the controller builds once before the workers start
  (so a cold build's progress is on the terminal, and two workers never build), hands the result
  to each worker in `workerinput`, and sums the tier's test time from the reports the workers
  send; each worker that runs tests of the tier starts its own servers (ephemeral loopback ports).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver.apiserver_harness import (
    EXIT_ARCHIVE_UNREACHABLE,
    EXIT_CANNOT_BUILD_HERE,
    BuildError,
    build,
)

HERE = Path(__file__).resolve().parent
MODE_ENV = "CERTSYNC_APISERVER"
BIN_DIR_ENV = "CERTSYNC_APISERVER_BIN_DIR"
#: the key of the build result in a worker's workerinput (and of its startup time in workeroutput)
_WORKER_KEY = "certsync_apiserver"


@dataclass
class TierState:
    """What the build step found out, for the fixtures and the terminal summary."""

    mode: str = "auto"
    bin_dir: Path | None = None
    skip_reason: str | None = None
    fail_reason: str | None = None
    build_seconds: float | None = None
    test_seconds: float = 0.0  # setup + call + teardown of this tier's tests, summed
    startup_seconds: float | None = None
    tests: int = 0  # counted from the setup reports, in whichever process sees them all


STATE = pytest.StashKey[TierState]()
_CURRENT: TierState | None = None


def _in_tier(item: pytest.Item) -> bool:
    return HERE in Path(item.path).parents


def _reported_in_tier(nodeid: str) -> bool:
    return nodeid.startswith("tests/apiserver/")  # node ids are relative to the repository root


def _prepare(config_: pytest.Config) -> TierState:
    state = TierState(mode=os.environ.get(MODE_ENV, "auto").strip().lower() or "auto")
    if state.mode not in {"auto", "require", "off"}:
        state.fail_reason = f"{MODE_ENV}={state.mode!r}: expected auto, require or off"
        return state
    if state.mode == "off":
        state.skip_reason = f"{MODE_ENV}=off: the real-API-server tier was switched off"
        return state
    prebuilt = os.environ.get(BIN_DIR_ENV)
    if prebuilt:
        state.bin_dir = Path(prebuilt)
        missing = [n for n in ("apiext-server", "etcd") if not (state.bin_dir / n).is_file()]
        if missing:
            state.fail_reason = f"{BIN_DIR_ENV}={prebuilt} lacks {', '.join(missing)}"
        return state

    reporter = config_.pluginmanager.get_plugin("terminalreporter")
    capture = config_.pluginmanager.get_plugin("capturemanager")

    def progress(line: str) -> None:
        if reporter is not None:
            reporter.write_line(line)

    try:
        # Show build progress live: a cold build takes minutes and must not look like a hang.
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None:
                reporter.write_line(f"apiserver tier: build or reuse ({MODE_ENV}={state.mode})")
            state.bin_dir, state.build_seconds = build(progress)
    except BuildError as exc:
        cannot_build_here = exc.exit_code in {EXIT_CANNOT_BUILD_HERE, EXIT_ARCHIVE_UNREACHABLE}
        if cannot_build_here and state.mode == "auto":
            state.skip_reason = (
                f"this machine cannot build the real API server: {exc} "
                f"(set {MODE_ENV}=require to make this an error)"
            )
        else:
            state.fail_reason = f"building the real API server failed (exit {exc.exit_code}):\n{exc}"
    except OSError as exc:
        state.fail_reason = f"cannot run hack/apiserver/build.sh: {exc}"
    return state


def _set_state(config_: pytest.Config, state: TierState) -> None:
    global _CURRENT
    _CURRENT = config_.stash[STATE] = state


def _is_controller(config_: pytest.Config) -> bool:
    return config_.pluginmanager.has_plugin("dsession")  # pytest-xdist's, with -n >= 1


def _selects_tier(config_: pytest.Config) -> bool:
    """Could this session's arguments collect the tier (the tier's directory is in, or under, one)?"""
    for arg in config_.args:
        path = (config_.invocation_params.dir / arg.split("::", 1)[0]).resolve()
        if path == HERE or path in HERE.parents or HERE in path.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts its workers
def pytest_sessionstart(session: pytest.Session) -> None:
    config_ = session.config
    if _is_controller(config_) and not config_.option.collectonly and _selects_tier(config_):
        _set_state(config_, _prepare(config_))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller: give each worker the build's result, so that it does not build again."""
    state = node.config.stash.get(STATE, None)
    if state is not None:
        fields = asdict(state)
        fields["bin_dir"] = str(state.bin_dir) if state.bin_dir else None
        node.workerinput[_WORKER_KEY] = fields


def pytest_collection_finish(session: pytest.Session) -> None:
    config_ = session.config
    if config_.option.collectonly or STATE in config_.stash:
        return  # listing tests must not build anything
    if not any(_in_tier(item) for item in session.items):
        return
    given = getattr(config_, "workerinput", {}).get(_WORKER_KEY)
    if given is not None:  # an xdist worker: the controller built
        fields = {**given, "bin_dir": Path(given["bin_dir"]) if given["bin_dir"] else None}
        _set_state(config_, TierState(**fields))
    else:  # serial, or a worker whose controller did not foresee the tier (build is cached, flocked)
        _set_state(config_, _prepare(config_))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # The hook has no config at hand; the state of this session's tier is the module's _CURRENT.
    if _CURRENT is not None and _reported_in_tier(report.nodeid):
        _CURRENT.test_seconds += report.duration
        _CURRENT.tests += report.when == "setup"


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None and _CURRENT is not None and _CURRENT.startup_seconds is not None:
        output[_WORKER_KEY] = _CURRENT.startup_seconds  # to the controller's summary


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    startup = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if startup is not None and _CURRENT is not None:
        _CURRENT.startup_seconds = startup


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    if state.skip_reason:
        terminalreporter.section("apiserver tier SKIPPED", sep="!", yellow=True, bold=True)
        terminalreporter.write_line(
            f"WARNING: {state.tests} tests against a real Kubernetes API server did NOT run: "
            f"{state.skip_reason}",
            yellow=True,
            bold=True,
        )
        return
    parts = [f"mode={state.mode}"]
    if state.build_seconds is not None:
        parts.append(f"build-or-reuse {state.build_seconds:.1f} s")
    if state.startup_seconds is not None:
        parts.append(f"etcd+apiserver ready in {state.startup_seconds:.2f} s")
    if state.test_seconds:
        # Summed per test, so it means the same inside a whole `make test` run as alone.
        total = state.test_seconds + (state.build_seconds or 0.0)
        parts.append(f"tier wall time {total:.1f} s ({state.tests} tests: {state.test_seconds:.1f} s)")
    terminalreporter.write_line("apiserver tier: " + ", ".join(parts))
