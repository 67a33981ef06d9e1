"""The co-built agenda typed into the console: stable numbers, a late item on the ballot,
the closing time, the ranked agenda after the close and every proposer thanked."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.test_console_scenario import ROOT, run_console, sent_to

SCRIPT = ROOT / "tests" / "scenarios" / "agenda_numbers.txt"


def said(out: str, who: str) -> list[str]:
    return [textwrap.dedent(body).strip() for body in sent_to(out, who)]


def test_the_agenda_keeps_its_numbers_in_the_console(tmp_path: Path, database_url: str) -> None:
    out = run_console(tmp_path, database_url, SCRIPT)
    group = said(out, "#ubuntu")
    assert any(m.startswith("Added as item 3: Budget literacy.") for m in said(out, "DM @thandi"))
    added = said(out, "DM @zola")
    assert any(m.startswith("Added as item 4: Mapping informal settlements.") for m in added)
    # The ballot: items 1 and 3 (2 was withdrawn), when voting closes, then item 4 added.
    (ballot,) = [m for m in group if m.startswith("Vote on the agenda of March meeting")]
    assert "1. Open data portals" in ballot and "3. Budget literacy" in ballot
    assert "2. Procurement monitoring" not in ballot
    assert "Voting closes on Thursday 18 March, 09:00 (Lagos)." in ballot
    (addition,) = [m for m in group if "New on the agenda of March meeting" in m]
    assert "4. Mapping informal settlements" in addition
    assert any(m.startswith("Your votes: 3, 4.") for m in said(out, "DM @amina"))
    # Closed: the ranking thanks every proposer, the merged item's too, and /agenda
    # shows the ranked order.
    (ranking,) = [m for m in group if "AGENDA OF MARCH MEETING" in m]
    assert "Thank you to Thandi, Amina, Zola for proposing items!" in ranking
    listing = said(out, "DM @fatima")[-1]
    ranked = [line for line in listing.splitlines() if line.startswith("• ")]
    assert ranked == [
        "• 1. Budget literacy · 2 votes",
        "• 2. Mapping informal settlements · 1 vote",
    ]
