"""A month of a Community of Practice in the console: the co-built agenda, the wall of
passions and its introduction, best practices, the weekly question, the digest and the
harvest, typed as a user would type them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.test_console_scenario import ROOT, run_console, sent_to

SCRIPT = ROOT / "tests" / "scenarios" / "cop_features.txt"
GROUP = "#ubuntu"


def said(out: str, who: str) -> list[str]:
    """What the bot sent to ``who``, without the transcript's indentation."""
    return [textwrap.dedent(body).strip() for body in sent_to(out, who)]


def test_a_month_of_cop_features_in_the_console(tmp_path: Path, database_url: str) -> None:
    out = run_console(tmp_path, database_url, SCRIPT)
    group = said(out, GROUP)

    # Five proposals, then votes typed as numbered replies to the ballot in the DMs.
    for member, number, title in (
        ("amina", 1, "Open data portals"),
        ("kwame", 2, "Procurement monitoring"),
        ("thandi", 3, "Budget literacy"),
        ("sipho", 4, "Data protection"),
        ("zola", 5, "Mapping informal settlements"),
    ):
        assert f"Added as item {number}: {title}. Thank you!" in said(out, f"DM @{member}")
    assert "Your votes: 1, 2. You can change them until voting closes." in said(out, "DM @amina")
    assert "Your votes: 2, 4. You can change them until voting closes." in said(out, "DM @zola")
    ranking = (
        "• 1. Procurement monitoring · 4 votes\n"
        "• 2. Data protection · 2 votes\n"
        "• 3. Open data portals · 1 vote (tie)\n"
        "• 4. Budget literacy · 1 vote (tie)\n"
        "• 5. Mapping informal settlements · 0 votes"
    )
    closed = [m for m in said(out, "DM @fatima") if "AGENDA OF MARCH MEETING" in m]
    assert len(closed) == 1 and ranking in closed[0]
    assert len([m for m in group if "AGENDA OF MARCH MEETING" in m]) == 1

    # Three wall entries, one introduction (one per member per week), accepted by both.
    for member in ("amina", "kwame", "thandi"):
        assert any("You are on the wall" in m for m in said(out, f"DM @{member}"))
    offers = [line for line in out.splitlines() if "Would you like an introduction?" in line]
    assert len(offers) == 2
    assert any("You are introduced: Kwame" in m for m in said(out, "DM @amina"))
    assert any("You are introduced: Amina" in m for m in said(out, "DM @kwame"))
    assert not any("introduc" in m.lower() for m in said(out, "DM @thandi"))

    # Practices and their upvotes.
    assert any(m.startswith("Thank you! Your practice is #1.") for m in said(out, "DM @kwame"))
    assert any(m.startswith("Thank you! Your practice is #2.") for m in said(out, "DM @zola"))

    # The weekly question: Fatima, invited first, asks it; her text is posted as typed.
    questions = [m for m in group if m.startswith("Question of the week")]
    assert questions == [
        "Question of the week, from Fatima:\nWho has *actually* used the procurement API?"
    ]

    # One digest, on Monday 8 March; the quiet week after gets none.
    digests = [m for m in group if "THIS WEEK IN UBUNTU DATA COP" in m]
    assert len(digests) == 1
    digest = digests[0]
    assert "March meeting is in 12 days." in digest
    assert "Question of the week from Fatima: Who has *actually* used the procurement API?" in (
        digest
    )
    assert "• Weekly office hours for data requests · 2 votes" in digest
    assert "• Publish the budget as open data first · 1 vote" in digest
    assert "• Procurement monitoring · 4 votes" in digest

    # /harvest, after the meeting: every section with its figures.
    harvests = [m for m in said(out, "DM @fatima") if m.startswith("HARVEST: MARCH MEETING")]
    assert len(harvests) == 1
    harvest = harvests[0]
    for line in (
        "Pre-meeting answers",
        "• Amina: Our budget portal went live",
        "Agenda",
        "• 1. Procurement monitoring · 4 votes",
        "• 2. Data protection · 2 votes",
        "• 5. Mapping informal settlements · 0 votes",
        "Wall of passions",
        "• New: Amina, Kwame, Thandi",
        "• Refreshed: none",
        "Introductions made",
        "• Amina & Kwame (procurement data)",
        "Best practices",
        "• Weekly office hours for data requests · Kwame · 2 votes",
        "• Publish the budget as open data first · Zola · 1 vote",
        "Participation",
        "• Asked: 5 (Amina, Kwame, Sipho, Thandi, Zola)",
        # Amina answered the first question of three: not a complete answer.
        "• Answered every question: 0",
        "• Answered some: 1",
        "• Response rate: 0%",
    ):
        assert line in harvest.splitlines(), line
