"""Onboarding: one-time facilitator codes, expiring join codes, linking a second platform,
and clear answers to wrong commands."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from adapters.memory import MemoryAdapter
from storage.models import Identity, InviteCode, Member
from tests.harness import Harness, texts, to


async def test_setup_code_works_once(harness: Harness) -> None:
    h = harness
    setup, _ = await h.create_community()
    linked = await h.say("fatima", f"/setup {setup.lower()}", "#cop")  # case and dash do not matter
    assert "now linked to **Lagos Civic Tech**" in to(linked, "#cop")[0]
    again = await h.say("mallory", f"/setup {setup}", "#other")
    assert any("already been used" in t for t in texts(again))
    async with h.indaba.sessions() as session:
        roles = dict((await session.execute(select(Member.display_name, Member.role))).all())
        stored = (await session.scalars(select(InviteCode.code_hash))).all()
    assert roles == {"Fatima": "facilitator"}
    assert setup not in stored and all(len(code) == 64 for code in stored)


async def test_codes_expire_and_are_replaced(harness: Harness) -> None:
    h = harness
    setup, join = await h.create_community()
    await h.say("fatima", f"/setup {setup}", "#cop")
    # A join code serves many members until it expires.
    assert any("Welcome" in t for t in texts(await h.say("amina", f"/join {join}")))
    assert any("Welcome" in t for t in texts(await h.say("kwame", f"/join {join}")))
    assert any("already a member" in t for t in texts(await h.say("kwame", f"/join {join}")))
    await h.advance(days=31)
    assert any("expired" in t for t in texts(await h.say("thandi", f"/join {join}")))
    # A facilitator's new code replaces the old one.
    fresh = await h.say("fatima", "/invite", "#cop")
    new_code = next(t for t in texts(fresh) if "New join code" in t).split("**")[1]
    assert any("Welcome" in t for t in texts(await h.say("thandi", f"/join {new_code}")))
    assert any("not valid" in t for t in texts(await h.say("zola", "/join NOPE1-NOPE2")))


async def test_members_cannot_use_facilitator_commands(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    refused = await h.say("amina", "/invite", "#cop")
    assert texts(refused) == ["Only a facilitator can use /invite. Ask Fatima."]
    # In a group without ephemeral replies, the refusal goes to the member privately.
    assert refused[0].message.address.conversation_id == "amina"


async def test_wrong_commands_get_helpful_answers(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    assert texts(await h.say("amina", "/questons")) == [
        "I don't know /questons. Did you mean /questions? Type /help to see what I can do."
    ]
    assert "not a member" in texts(await h.say("stranger", "hello"))[0]
    help_text = texts(await h.say("amina", "/help"))[0]
    assert "/answers" in help_text and "/invite" not in help_text
    facilitator_help = texts(await h.say("fatima", "/help"))[0]
    assert "/invite" in facilitator_help
    assert "/join CODE" in texts(await h.say("amina", "/help join"))[0]
    too_long = texts(await h.say("amina", "/answer 1 " + "x" * 5000))[0]
    assert "4000 characters" in too_long


async def test_link_reaches_the_same_member_on_another_platform(
    database_url: str, tmp_path: Path
) -> None:
    other = MemoryAdapter(name="other")
    h = await Harness.create(database_url, tmp_path, adapters=[MemoryAdapter(), other])
    try:
        await h.setup_community(members=("amina",))
        code = next(t for t in texts(await h.say("amina", "/link")) if "link code" in t).split(
            "**"
        )[1]
        from bot.messages import CommandInvoked, Conversation, ConversationKind, Sender

        await other.push(
            CommandInvoked(
                Conversation("other", "+254700", ConversationKind.DM),
                Sender("other", "+254700", "Amina W."),
                "o1",
                command="link",
                args=code,
            )
        )
        await h.settle()
        assert any("Linked!" in s.message.text for s in other.pop())
        async with h.indaba.sessions() as session:
            rows = (await session.execute(select(Identity.platform, Identity.member_id))).all()
        owners = {member for platform, member in rows if platform in ("memory", "other")}
        amina = {member for platform, member in rows if platform == "other"}
        assert len(amina) == 1 and amina <= owners
        assert len([r for r in rows if r[1] in amina]) == 2
    finally:
        await h.aclose()


async def test_wrong_codes_are_limited_per_sender(database_url: str, tmp_path: Path) -> None:
    h = await Harness.create(database_url, tmp_path)
    try:
        _, join = await h.create_community()
        for n in range(5):
            answer = texts(await h.say("guesser", f"/join WRONG{n:04d}X"))[0]
            assert "not valid" in answer
        refused = texts(await h.say("guesser", f"/join {join}"))[0]
        assert "Too many wrong codes" in refused
        # Another sender is not affected, and the right code still works for them.
        assert "Welcome" in " ".join(texts(await h.say("amina", f"/join {join}")))
        # Ten minutes later the guesser may try again.
        await h.advance(minutes=11)
        assert "Welcome" in " ".join(texts(await h.say("guesser", f"/join {join}")))
    finally:
        await h.aclose()
