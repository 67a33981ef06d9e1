"""The live ballot on Slack honours the community's ``agenda_results_while_voting``: with
results hidden, the ballot updated by chat.update shows only how many have voted (no
tallies on it, on the member's Home tab or in their answer) until the close."""

from __future__ import annotations

import re

from sqlalchemy import select

from storage.models import Community
from tests.slack.conftest import CHANNEL, Workspace
from tests.slack.test_home import open_home, shown
from tests.slack.test_month import AMINA, FATIMA, KWAME, THANDI, ephemeral, public, setup_cop

TALLY = re.compile(r"· \d+ votes?\b")


async def test_hidden_results_show_only_how_many_voted_until_the_close(
    workspace: Workspace,
) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    async with ws.h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**community.settings, "agenda_results_while_voting": False}
    await ws.h.advance(days=4, hours=3)  # proposals open
    for user, title in ((AMINA, "Open data portals"), (KWAME, "Procurement monitoring")):
        await ws.command(user, f"/indaba agenda add {title}")
    fake.posted.clear()
    await ws.h.advance(days=7)  # the ballot
    [ballot] = [p for p in fake.in_channel(CHANNEL) if "Vote on the agenda" in p.text]
    [actions] = [b for b in ballot.blocks if b["type"] == "actions"]
    value = {e["text"]["text"]: e["value"] for e in actions["elements"]}["Procurement monitoring"]
    for user in (AMINA, KWAME, THANDI):
        await ws.press(user, ballot.ts, value, CHANNEL)
    await ws.press(THANDI, ballot.ts, value, CHANNEL)  # and takes it back
    assert ballot.edits == 4
    text = "\n".join(str((b.get("text") or {}).get("text", "")) for b in ballot.blocks)
    assert "2 members have voted so far. The results are shown when voting closes." in text
    assert not TALLY.search(text), text
    assert not TALLY.search(ballot.text)
    # Nor on the member's own screens.
    assert not any(TALLY.search(t) for t in ephemeral(fake, AMINA))
    assert not TALLY.search(shown(await open_home(ws, AMINA)))
    # The close shows the counts.
    await ws.command(FATIMA, "/indaba agenda close")
    [ranking] = [p for p in public(fake) if "Agenda of" in p.text]
    assert "1. Procurement monitoring · 2 votes" in ranking.blocks[1]["text"]["text"]
