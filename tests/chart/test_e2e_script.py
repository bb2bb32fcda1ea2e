"""hack/e2e-kind.sh says plainly when it cannot run, with its own exit code, and never passes then."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .chart_helpers import ROOT

SCRIPT = ROOT / "hack" / "e2e-kind.sh"


def _run(tmp_path: Path, fakes: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # PATH holds `dirname` and the given fake tools only: never the machine's docker or kind, so
    # the test cannot start a real cluster.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dirname = shutil.which("dirname")
    bash = shutil.which("bash")
    assert dirname and bash
    (bin_dir / "dirname").symlink_to(dirname)
    for name, body in fakes.items():
        (bin_dir / name).write_text(f"#!{bash}\n{body}\n")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    return subprocess.run(
        [bash, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=30, check=False
    )


def test_missing_docker_exits_3_and_says_not_run(tmp_path: Path) -> None:
    result = _run(tmp_path, {})
    assert result.returncode == 3
    assert "NOT RUN: docker is not installed" in result.stderr
    assert "not a pass" in result.stderr


def test_unreachable_docker_daemon_exits_3(tmp_path: Path) -> None:
    result = _run(tmp_path, {"docker": "exit 1"})  # `docker info` fails as without a daemon
    assert result.returncode == 3
    assert "Docker daemon is not reachable" in result.stderr


def test_missing_kind_exits_3(tmp_path: Path) -> None:
    result = _run(tmp_path, {"docker": "exit 0"})
    assert result.returncode == 3
    assert "kind is not on PATH" in result.stderr


def test_makefile_runs_it() -> None:
    assert "bash hack/e2e-kind.sh" in (ROOT / "Makefile").read_text()
