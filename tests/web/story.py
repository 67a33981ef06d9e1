"""A month of a CoP told through the harness, leaving everything the meeting pack shows:
wall entries (one member anonymous), an introduction, a ranked agenda, answers to the
questions, practices with votes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.models import Community, Meeting
from tests.harness import Harness

MEETING = "November meeting: water points"
# Quoted on the pages and the poster exactly as sent.
AMINA = "We mapped 40 boreholes with the district office & the women's committee."
THANDI = "Secret insight: nobody reads the PDF reports <script>alert(1)</script>"


@dataclass(frozen=True, slots=True)
class Told:
    community_id: int
    meeting_id: int


async def tell(h: Harness) -> Told:
    await h.setup_community(members=("amina", "kwame", "thandi"))
    await h.say("fatima", f"/meeting add 2026-11-20 14:00 {MEETING}", "#cop")
    await h.say("thandi", "/anonymous on")
    await h.say("amina", "/wall me passions Water point maps")
    await h.say("amina", "/wall me contributes Training on borehole surveys")
    await h.say("amina", "/wall me needs Funding for sensors")
    await h.say("kwame", "/wall me passions Open budgets")
    await h.say("kwame", "/wall me needs Borehole survey methods")
    await h.say("thandi", "/wall me passions Water point maps and rural sanitation")
    # Amina's contribution meets Kwame's need: both accept the introduction.
    await h.say("amina", "1")
    await h.say("kwame", "1")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda add Open data portal\nWhat we publish first", "#cop")
    await h.say("kwame", "/agenda add Budget literacy", "#cop")
    await h.say("thandi", "/agenda add Sensor maintenance", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("amina", "/agenda vote 2 3", "#cop")
    await h.say("kwame", "/agenda vote 2", "#cop")
    await h.say("thandi", "/agenda vote 3", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    # The questions go out a week before the meeting.
    await h.advance(days=11, hours=3)
    await h.say("amina", AMINA)
    # Amina answers every question; Thandi only the first (the rate counts complete ones).
    await h.say("amina", "Keeping the borehole map current once the survey team leaves.")
    await h.say("amina", "How to publish the borehole map as open data.")
    await h.say("thandi", THANDI)
    await h.say("kwame", "/practice Weekly office hours at the water office", "#cop")
    await h.say("amina", "/practice vote 1", "#cop")
    await h.say("thandi", "/practice vote 1", "#cop")
    await h.advance(days=7)
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        return Told(community.id, meeting.id)
