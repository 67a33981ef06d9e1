"""The member-led weekly question: fair rotation, yes or no, the member's question posted
in their name, Indaba's own question when nobody posts one, once a week, in the digest."""

from __future__ import annotations

from sqlalchemy import select

from bot.engine.services import rotation
from bot.engine.texts import LibraryQuestion
from storage.models import Community
from tests.harness import Harness, to

# The harness starts on Monday 2 Nov 2026, 06:00 UTC; the community is in Lagos
# (UTC+1) and the weekly question goes out on Wednesday at 10:00 Lagos time.
TO_WEDNESDAY = {"days": 2, "hours": 3, "minutes": 5}


def invitations(sent: list, user: str) -> list:  # type: ignore[type-arg]
    return [s for s in sent if s.message.address.conversation_id == user and s.message.choices]


async def test_rotation_member_question_and_library_fallback(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame", "thandi"))
    library = h.indaba.texts.provocations

    # Week 45: nobody was ever invited, so the first member (the facilitator) goes first.
    sent = await h.advance(**TO_WEDNESDAY)
    invited = invitations(sent, "fatima")
    assert len(invited) == 1
    assert "your turn to ask the community a question" in invited[0].message.text
    assert [c.id for c in invited[0].message.choices] == ["accept", "decline"]
    assert not [
        s for s in sent if s.message.choices and s.message.address.conversation_id != "fatima"
    ]
    assert "Send me your question" in to(await h.say("fatima", "1"), "fatima")[0]
    assert "already answered" in to(await h.say("fatima", "2"), "fatima")[0]
    posted = await h.say("fatima", "What is *one* tool you **refuse** to give up?")
    assert "Your question is posted" in to(posted, "fatima")[0]
    assert to(posted, "#cop") == [
        "**Question of the week**, from Fatima:\nWhat is \\*one\\* tool you \\*\\*refuse\\*\\* to give up?"
    ]
    # A day later Indaba stays quiet: the member posted this week's question.
    sent = await h.advance(days=1)
    assert not [t for t in to(sent, "#cop") if "Question of the week" in t]
    # However often the job fires, one invitation and one question a week.
    assert await h.indaba.timetable.run_due() == 0
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        assert community is not None
        again = await rotation.invite(
            session, h.indaba.engine.messenger, community, "2026-W45", h.clock.now(), 8
        )
        assert again == "2026-W45 already has its question turn"
        fallback = await rotation.post_library_question(
            session, h.indaba.engine.messenger, community, "2026-W45", h.clock.now()
        )
        assert fallback == "2026-W45 question already posted"
    assert not to(await h.settle(), "#cop")

    # The Monday digest carries the member-led question.
    sent = await h.advance(days=4)
    digests = [t for t in to(sent, "#cop") if "This week in" in t]
    assert len(digests) == 1
    assert "**Question of the week** from Fatima: What is \\*one\\* tool" in digests[0]

    # Week 46: Amina (never invited) declines; a day later Indaba posts the first
    # provocation of its library.
    sent = await h.advance(days=2)
    assert len(invitations(sent, "amina")) == 1
    assert "ask someone else" in to(await h.say("amina", "2"), "amina")[0]
    sent = await h.advance(days=1)
    assert to(sent, "#cop") == [f"**Question of the week**\n{library[0].text['en']}"]

    # Week 47: Kwame is invited and says nothing; Indaba posts the next provocation,
    # never the same one twice running. Thandi then opts out.
    sent = await h.advance(days=6)
    assert len(invitations(sent, "kwame")) == 1
    sent = await h.advance(days=1)
    assert to(sent, "#cop") == [f"**Question of the week**\n{library[1].text['en']}"]
    await h.say("thandi", "/stop")

    # Week 48: Thandi opted out and Amina declined within 8 weeks, so the turn comes
    # back to the member invited least recently: Fatima, then Kwame.
    sent = await h.advance(days=6)
    assert len(invitations(sent, "fatima")) == 1
    assert not invitations(sent, "thandi") and not invitations(sent, "amina")
    await h.advance(days=1)
    sent = await h.advance(days=6)
    assert len(invitations(sent, "kwame")) == 1
    # Kwame stays silent again: the fourth provocation (Fatima's week had the third).
    sent = await h.advance(days=1)
    assert to(sent, "#cop") == [f"**Question of the week**\n{library[3].text['en']}"]


def test_library_rotation_never_repeats() -> None:
    library = [LibraryQuestion(k, {"en": k.upper()}) for k in ("a", "b", "c")]
    assert rotation.next_provocation(library, None, 0) == 0
    assert rotation.next_provocation(library, "A", 1) == 1
    assert rotation.next_provocation(library, "C", 3) == 0
    # A question no longer in the library: go on by count.
    assert rotation.next_provocation(library, "gone", 4) == 1
    one = library[:1]
    assert rotation.next_provocation(one, "A", 1) == 0
