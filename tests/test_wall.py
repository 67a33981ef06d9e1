"""The wall of passions: the DM conversation, /wall, and the introductions it offers."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Introduction, WallEntry
from tests.harness import Harness, to


async def fill(h: Harness, who: str, passions: str, contributes: str, needs: str) -> list[str]:
    await h.say(who, passions)
    await h.say(who, contributes)
    return to(await h.say(who, needs), who)


async def test_new_member_tells_the_wall_and_gets_one_introduction(harness: Harness) -> None:
    h = harness
    await h.create_community()
    setup, join = await h.create_community("Other", "Africa/Lagos")
    del setup
    # Members joining by code get the wall invitation after the welcome.
    sent = await h.say("amina", f"/join {join}")
    assert any("1 of 3" in t and "passionate" in t for t in to(sent, "amina"))
    second = to(await h.say("amina", "Open contracting"), "amina")[0]
    assert "2 of 3" in second
    await h.say("amina", "Python training")
    done = to(await h.say("amina", "Procurement data from ministries"), "amina")
    assert "You are on the wall" in done[0]

    await h.say("kwame", f"/join {join}")
    await fill(h, "kwame", "Civic tech", "Scraping procurement data", "Funding")
    async with h.indaba.sessions() as session:
        intros = (await session.scalars(select(Introduction))).all()
    assert len(intros) == 1 and intros[0].reason == "need"
    assert "procurement" in intros[0].topics

    # A third member matching both gets none this week (one per member per week).
    await h.say("thandi", f"/join {join}")
    await fill(h, "thandi", "Open contracting", "Procurement data", "Funding")
    async with h.indaba.sessions() as session:
        assert len((await session.scalars(select(Introduction))).all()) == 1

    # Both accept (numbered replies on a platform without buttons): introduced.
    await h.say("amina", "1")
    made = await h.say("kwame", "1")
    assert any("You are introduced" in t and "Amina" in t for t in to(made, "kwame"))
    assert any("You are introduced" in t and "Kwame" in t for t in to(made, "amina"))

    wall = to(await h.say("amina", "/wall"), "amina")[0]
    assert "Amina (needs help)" in wall and "Kwame (can contribute)" in wall
    mine = to(await h.say("thandi", "/wall me"), "thandi")[0]
    assert "Passionate about: Open contracting" in mine
    await h.say("thandi", "/wall me needs Mentoring on *data* design")
    async with h.indaba.sessions() as session:
        entry = await session.scalar(select(WallEntry).where(WallEntry.needs.like("Mentoring%")))
        assert entry is not None and entry.needs == "Mentoring on *data* design"


async def test_declined_pair_is_never_offered_again(harness: Harness) -> None:
    h = harness
    _, join = await h.create_community()
    await h.say("amina", f"/join {join}")
    await fill(h, "amina", "Maps", "Teaching", "Mapping tools")
    await h.say("kwame", f"/join {join}")
    await fill(h, "kwame", "Maps", "Mapping tools", "-")
    await h.say("kwame", "2")
    await h.advance(days=8)
    await h.say("kwame", "/wall me edit")
    await fill(h, "kwame", "Maps", "Mapping tools", "-")
    async with h.indaba.sessions() as session:
        intros = (await session.scalars(select(Introduction))).all()
    assert len(intros) == 1 and intros[0].b_answer == "declined"
