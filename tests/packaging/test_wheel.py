"""The product wheel, as the container image installs it: built from the files the Dockerfile
copies, installed in a clean virtual environment with only its runtime dependencies, every module
importable, the command line working, and no test tool inside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: what the Dockerfile copies into its build stage (`COPY pyproject.toml README.md ./`, `COPY operator`)
IMAGE_SOURCES = ("pyproject.toml", "README.md", "operator")
#: importable only with the test extras or the dev package; none may be in, or needed by, the wheel
TEST_TOOLS = ("certsync_devkit", "kmock", "pytest")

IMPORT_ALL = """
import importlib, json, sys
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(failed))
"""


def _run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # The clean environment must not inherit the dev package's path from `make` (PYTHONPATH).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env
    )


def _module_names(wheel: Path) -> list[str]:
    names = []
    for path in zipfile.ZipFile(wheel).namelist():
        if not path.endswith(".py") or ".dist-info/" in path:
            continue
        parts = path[: -len(".py")].split("/")
        if parts[-1] == "__main__":
            continue  # runs the command on import; exercised below as `python -m`
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return sorted(names)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, venv python): the wheel built and installed as in the image."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in IMAGE_SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, src / name)
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", src)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("netscaler_certsync-*.whl")

    venv = work / "venv"
    # No pip inside (ensurepip costs 5 to 9 s): this environment's pip installs into it instead.
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr[-3000:]
    python = venv / "bin" / "python"
    # Dependencies come from the package index, as in the Dockerfile: no test extra, no dev package.
    installed = _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return wheel, python


@pytest.mark.timeout(600)
def test_no_test_tool_is_inside_the_wheel(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("netscaler_certsync-")}
    assert packages == {"netscaler_certsync"}
    shipped = "\n".join(names)
    for tool in (*TEST_TOOLS, "netscaler_certsync/testing/", "netscaler_certsync/demo/"):
        assert tool not in shipped
    for name in names:
        if name.endswith(".py"):
            source = zipfile.ZipFile(wheel).read(name).decode()
            assert "kmock" not in source, f"{name} mentions kmock, a test-only dependency"


@pytest.mark.timeout(600)
def test_every_module_imports_with_only_the_runtime_dependencies(installed: tuple[Path, Path]) -> None:
    wheel, python = installed
    for tool in TEST_TOOLS:  # the clean environment really lacks them
        probe = _run(python, "-c", f"import {tool}", cwd=wheel.parent)
        assert probe.returncode != 0, f"{tool} is importable in the clean environment"
    modules = _module_names(wheel)
    assert "netscaler_certsync.runtime" in modules  # the list is the real one
    result = _run(python, "-c", IMPORT_ALL, json.dumps(modules), cwd=wheel.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout) == {}


@pytest.mark.timeout(600)
def test_the_installed_command_runs(installed: tuple[Path, Path]) -> None:
    wheel, python = installed
    command = python.parent / "netscaler-certsync"
    for argv in ([command, "--help"], [python, "-m", "netscaler_certsync", "--help"]):
        result = _run(*argv, cwd=wheel.parent)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "run" in result.stdout and "simulator" in result.stdout
    simulator_help = _run(command, "simulator", "--help", cwd=wheel.parent)
    assert simulator_help.returncode == 0, simulator_help.stderr[-3000:]
