"""The least-privilege NetScaler command policy, read from its single copy in docs/netscaler-setup.md."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETUP_DOC = ROOT / "docs" / "netscaler-setup.md"
BEGIN, END = "<!-- netscaler-command-policy:begin -->", "<!-- netscaler-command-policy:end -->"


def command_policy(doc: Path = SETUP_DOC) -> str:
    """The regex of the fenced block between the markers (exactly one line)."""
    text = doc.read_text()
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    lines = [line for line in block.strip().splitlines() if not line.startswith("```")]
    if len(lines) != 1:
        raise ValueError(f"{doc}: expected one regex line between the policy markers, found {len(lines)}")
    return lines[0]
