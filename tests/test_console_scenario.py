"""The scripted console session of README: a whole pre-meeting cycle, as a user types it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "scenarios" / "premeeting_cycle.txt"


def run_console(tmp_path: Path, database_url: str, script: Path) -> str:
    env = {
        **os.environ,
        "INDABA_DATABASE_URL": database_url,
        "INDABA_DATA_DIR": str(tmp_path),
        "INDABA_HTTP_PORT": "0",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "run",
            "--migrate",
            "--no-demo",
            "--no-http",
            "--clock",
            "2027-03-01 06:00",
        ],
        stdin=script.open(),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def sent_to(transcript: str, who: str) -> list[str]:
    """The bodies of the messages the bot sent to ``who`` (``DM @amina`` or ``#lagos``)."""
    blocks = re.split(r"\n(?=  bot → |\S)", transcript)
    return [
        block.split("\n", 1)[1] if "\n" in block else ""
        for block in blocks
        if block.startswith(f"  bot → {who} ")
    ]


def test_a_whole_premeeting_cycle_in_the_console(tmp_path: Path, database_url: str) -> None:
    out = run_console(tmp_path, database_url, SCRIPT)
    # The facilitator linked the group; three members joined (two in the group, one by code).
    assert "This group is now linked to Lagos Civic Tech" in out
    for member in ("amina", "kwame", "thandi"):
        assert any("Welcome to Lagos Civic Tech" in m for m in sent_to(out, f"DM @{member}"))
    # The questions went out to the three members, not to the facilitator.
    for member in ("amina", "kwame", "thandi"):
        assert any("Question 1 of 3" in m for m in sent_to(out, f"DM @{member}"))
    assert not any("Question 1 of 3" in m for m in sent_to(out, "DM @fatima"))
    # Two answered everything; only the third was reminded.
    assert any("All your answers" in m for m in sent_to(out, "DM @amina"))
    assert any("All your answers" in m for m in sent_to(out, "DM @kwame"))
    assert any("3 of your 3 questions" in m for m in sent_to(out, "DM @thandi"))
    assert not any("still open" in m for m in sent_to(out, "DM @amina") + sent_to(out, "DM @kwame"))
    # The facilitator's brief groups the answers and counts who did not answer.
    briefs = [m for m in sent_to(out, "DM @fatima") if "Brief: March meeting" in m or "BRIEF" in m]
    assert len(briefs) == 1
    brief = briefs[0]
    assert "2 of 3 members answered every question (67%)" in brief
    assert "Amina: Our budget portal went live in February" in brief
    assert "Kwame: Data protection rules" in brief
    assert "Not answered yet by 1 member: Thandi." in brief
    assert "Amina 3 of 3 · Kwame 3 of 3 · Thandi 0 of 3" in brief
