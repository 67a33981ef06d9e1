"""/harvest: every section with the right figures, anonymised members, exports."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from bot.engine.services.harvest import build_harvest, render_csv, render_json
from storage.models import Community, Meeting
from tests.harness import Harness, to


async def test_harvest_sections_and_exports(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame", "thandi"))
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.say("thandi", "/anonymous on")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda add Open data", "#cop")
    await h.say("kwame", "/agenda add Budgets", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 2", "#cop")
    await h.say("kwame", "/agenda vote 2", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    # The questions go out a week before; two of three members answer the first one.
    await h.advance(days=11, hours=3)
    await h.say("amina", "Portal launched")
    await h.say("thandi", "Secret insight")
    await h.say("kwame", "/practice Weekly office hours", "#cop")
    await h.say("amina", "/practice vote 1", "#cop")
    await h.advance(days=7)
    refused = await h.say("amina", "/harvest", "#cop")
    assert "Only a facilitator" in to(refused, "amina")[0]
    text = to(await h.say("fatima", "/harvest", "#cop"), "fatima")[0]
    assert "- Amina: Portal launched" in text
    assert "- A member: Secret insight" in text and "Thandi" not in text
    assert "- 1. Budgets · 2 votes" in text and "- 2. Open data · 0 votes" in text
    assert "- Weekly office hours · Kwame · 1 vote" in text
    assert "- Asked: 3" in text and "- Answered: 2" in text
    assert "Response rate: 67%" in text
    posted = await h.say("fatima", "/harvest post", "#cop")
    assert any("# Harvest: November meeting" in t for t in to(posted, "#cop"))
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        harvest = await build_harvest(session, h.indaba.texts, community, meeting, "en")
    data = json.loads(render_json(harvest))
    assert data["participation"]["response_rate"] == 67
    assert data["agenda"][0] == {"rank": 1, "title": "Budgets", "votes": 2}
    rows = list(csv.reader(io.StringIO(render_csv(harvest))))
    assert ["practice", "", "Kwame", "Weekly office hours", "1"] in rows
