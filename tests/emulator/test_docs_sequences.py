"""The kubectl sequences of docs/install.md, run as written against the emulated API.

Section 1 (CRDs and `kubectl wait --for=condition=Established`) and "After installing" (the
credentials Secret, then the examples). The one line left out is the final `wait` for the
CertificateSync to be Ready: it needs the operator and the example's appliance. The password the
user created must survive applying the examples.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from certsync_devkit.pki import make_ca
from tests.emulator.test_kubectl import KUBECTL

pytestmark = pytest.mark.skipif(
    not KUBECTL.exists(),
    reason=f"SKIPPED: no kubectl at {KUBECTL}; run `bash hack/tools.sh` to fetch it",
)

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "docs" / "install.md"
PASSWORD = "the-real-password-7"


def bash_block(doc: str, heading: str) -> list[str]:
    """The commands (continuation lines joined) of the first ```bash block under `heading`."""
    section = doc.split(f"\n{heading}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None, f"no bash block under {heading}"
    return [c.strip() for c in block.group(1).replace("\\\n", " ").splitlines() if c.strip()]


def test_install_sequence_keeps_the_password(kubeconfig: str, core: client.CoreV1Api, tmp_path: Path) -> None:
    doc = INSTALL.read_text()
    commands = bash_block(doc, "## 1. CRDs with kubectl") + bash_block(doc, "## After installing")
    needs_operator = [c for c in commands if "wait certsync/" in c]
    assert len(needs_operator) == 1
    for name in ("crds", "examples"):  # run from a directory like a clone, with the user's CA file
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "adc-mgmt-ca.pem").write_bytes(make_ca("ADC management CA").cert_pem)
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "PATH": f"{KUBECTL.parent}{os.pathsep}{os.environ['PATH']}",
    }
    for command in commands:
        if command in needs_operator:
            continue
        command = command.replace("password='...'", f"password='{PASSWORD}'")
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command}: {done.stderr}"
    secret = core.read_namespaced_secret("netscaler-credentials", "web")
    assert base64.b64decode(secret.data["password"]).decode() == PASSWORD
    assert base64.b64decode(secret.data["username"]).decode() == "certsync"
    assert "ca.crt" in core.read_namespaced_secret("netscaler-mgmt-ca", "web").data
