"""A facilitator's month in the console: a meeting moved and another cancelled, who is
coming and who came, a decision and an action followed up on its due date."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.test_console_scenario import ROOT, run_console, sent_to

SCRIPT = ROOT / "tests" / "scenarios" / "facilitators_month.txt"


def said(out: str, who: str) -> list[str]:
    return [textwrap.dedent(body).strip() for body in sent_to(out, who)]


def test_a_facilitators_month_in_the_console(tmp_path: Path, database_url: str) -> None:
    out = run_console(tmp_path, database_url, SCRIPT)
    fatima, amina, kwame = said(out, "DM @fatima"), said(out, "DM @amina"), said(out, "DM @kwame")
    group = said(out, "#lagos")

    # Meetings are named by their number; one moves, the other is cancelled, and the
    # members are told.
    assert any(m.startswith("Planned: #1 March meeting") for m in group)
    assert any(
        m.startswith("Moved: #1 March meeting is now on Saturday, 27 March 2027, 10:00")
        for m in fatima
    )
    for member in (amina, kwame):
        assert any("March meeting (#1) has moved" in m for m in member)
        assert any(
            "Extra session (#2) on Saturday, 27 March 2027, 14:00 (Lagos) is cancelled" in m
            for m in member
        )
    [listed] = [m for m in fatima if m.startswith("Meetings (all)")]
    assert "#1 March meeting · Saturday, 27 March 2027, 10:00 (Lagos) · City Hall, room 4" in listed
    assert "#2 Extra session · Saturday, 27 March 2027, 14:00 (Lagos) · cancelled" in listed

    # The questions went out once, at the new date (20 March), with "will you come?";
    # nothing for the cancelled session.
    for member in (amina, kwame):
        assert len([m for m in member if "Question 1 of 3" in m]) == 1
        [coming] = [m for m in member if m.startswith("Will you come to March meeting (#1)")]
        assert "Place: City Hall, room 4. Video link: https://meet.example/lagos" in coming
        assert all(c in coming for c in ("1. Yes, I will come", "2. No, I cannot", "3. Maybe"))
        assert not any("Extra session" in m and "Question" in m for m in member)
    assert "Thank you, see you at March meeting!" in amina
    assert any(
        m.startswith("Is 3 your answer to question 2, or your choice: Maybe?") for m in kwame
    )
    assert "Thank you; tell me when you know with the same buttons or numbers." in kwame

    # /remind now reaches Kwame once; the reminder day reminds nobody again.
    assert "Reminder sent for March meeting (#1) to Kwame." in fatima
    assert any(m.startswith("Nobody to remind for March meeting (#1)") for m in fatima)
    assert len([m for m in kwame if "still open" in m]) == 1
    assert "ran reminder of 'March meeting' (due Wed 24 Mar 08:00 UTC): reminded 0 members" in out

    # After the meeting: who came, a decision, an action; the take-away goes to Amina only.
    assert "Marked as present at #1 March meeting: Amina (1 member in all)." in fatima
    assert "Decision recorded for #1 March meeting: Publish the budget data every month" in fatima
    assert any(m.startswith("At March meeting you took on action 1") for m in kwame)
    assert any("Which one practice do you take away" in m for m in amina)
    assert not any("Which one practice do you take away" in m for m in kwame)

    # On the due date Kwame is asked, answers with a number, and the action is done.
    [check] = [m for m in kwame if m.startswith("Action 1, due Friday, 2 April 2027")]
    assert all(c in check for c in ("1. Done", "2. Still working", "3. Dropped"))
    assert "Well done! Action 1 is marked done." in kwame
    [actions] = [m for m in fatima if m.startswith("Actions")]
    assert "(no open action)" in actions and "1. share the procurement data · Kwame" in actions
