"""A Community of Practice's month on Slack, through real signed requests and the fake
Web API: setup in the channel, members, agenda proposals by slash command, questions by
DM, answers in threads and just below, an edit, Slack's retries, votes by button, the
ranked agenda, the Monday digest, the brief and the harvest."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import AgendaItem, AgendaVote, Member, Reply
from tests.fakes.slack_api import FakeSlack, Posted
from tests.slack.conftest import CHANNEL, Workspace

FATIMA, AMINA, KWAME, THANDI = "U0FATIMA", "U0AMINA", "U0KWAME", "U0THANDI"


def texts(posted: list[Posted]) -> list[str]:
    return [p.text for p in posted]


async def answers(ws: Workspace) -> list[tuple[str, str]]:
    async with ws.h.indaba.sessions() as session:
        rows = await session.execute(
            select(Member.display_name, Reply.text)
            .join(Reply, Reply.member_id == Member.id)
            .order_by(Member.display_name, Reply.text)
        )
        return [(name, text) for name, text in rows]


async def votes(ws: Workspace) -> list[tuple[str, int]]:
    async with ws.h.indaba.sessions() as session:
        rows = await session.execute(
            select(AgendaItem.title, func.count(AgendaVote.member_id))
            .join(AgendaVote, AgendaVote.item_id == AgendaItem.id)
            .group_by(AgendaItem.title)
            .order_by(AgendaItem.title)
        )
        return [(title, count) for title, count in rows]


def ephemeral(fake: FakeSlack, user: str) -> list[str]:
    return [p.text for p in fake.in_channel(CHANNEL) if p.ephemeral_to == user]


def public(fake: FakeSlack) -> list[Posted]:
    return [p for p in fake.in_channel(CHANNEL) if p.ephemeral_to is None]


def digests(fake: FakeSlack) -> list[Posted]:
    """The digests posted to the channel (a header block "This week in ...")."""
    return [
        p
        for p in public(fake)
        if p.blocks
        and p.blocks[0]["type"] == "header"
        and p.blocks[0]["text"]["text"] == "This week in Lagos Civic Tech"
    ]


async def setup_cop(ws: Workspace) -> None:
    fake = ws.fake
    setup, _join = await ws.h.create_community()
    response = await ws.command(FATIMA, f"/setup {setup}")
    assert response.status_code == 200
    assert "now linked to *Lagos Civic Tech*" in texts(fake.in_channel(CHANNEL))[0]
    # Members become members on first interaction (a message) or when they join.
    await ws.say_in_channel(AMINA, "hello from Amina")
    await ws.say_in_channel(KWAME, "hello from Kwame")
    await ws.event(
        {
            "type": "member_joined_channel",
            "user": THANDI,
            "channel": CHANNEL,
            "channel_type": "C",
            "team": "T0TEAM",
            "event_ts": ws.next_ts(),
        }
    )
    for user, name in ((AMINA, "Amina"), (KWAME, "Kwame"), (THANDI, "Thandi")):
        welcome = texts(fake.to_user(user))
        # The welcome, then (where the wall of passions exists) its invitation.
        assert f"Welcome to *Lagos Civic Tech*, {name}!" in welcome[0]
    # DMs were opened with conversations.open, names came from users.info.
    assert {c.params["users"] for c in fake.calls_to("conversations.open")} >= {AMINA, THANDI}
    await ws.command(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    assert "*November meeting*" in texts(fake.in_channel(CHANNEL))[-1]


async def test_premeeting_month(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)

    # Two weeks before: the agenda opens for proposals in the channel; members propose
    # with the slash command and are thanked where only they see it.
    fake.posted.clear()
    await ws.h.advance(days=4, hours=3)
    assert any(
        "*The agenda of November meeting is open for proposals.*" in p.text for p in public(fake)
    )
    fake.posted.clear()
    for user, title in (
        (AMINA, "Open data portals"),
        (KWAME, "Procurement monitoring"),
        (THANDI, "Budget literacy"),
    ):
        assert (await ws.command(user, f"/agenda add {title}")).status_code == 200
    assert not [p for p in public(fake) if "Open data portals" in p.text]
    assert ephemeral(fake, AMINA) == ["Added as item 1: Open data portals. Thank you!"]
    assert ephemeral(fake, KWAME) == ["Added as item 2: Procurement monitoring. Thank you!"]
    assert ephemeral(fake, THANDI) == ["Added as item 3: Budget literacy. Thank you!"]

    # A week before: the first question arrives as a DM to each member, and the ballot
    # is posted to the channel with one Block Kit button per item.
    fake.posted.clear()
    await ws.h.advance(days=7)
    for user in (AMINA, KWAME, THANDI):
        # The first question, and (a message of its own) whether they will come.
        [question] = [p for p in fake.to_user(user) if "*Question 1 of 3*" in p.text]
        assert question.blocks[0]["type"] == "section"
    [ballot] = [p for p in fake.in_channel(CHANNEL) if "Vote on the agenda" in p.text]
    assert ballot.blocks[0]["type"] == "section"
    assert "*Vote on the agenda of November meeting*" in ballot.blocks[0]["text"]["text"]
    [actions] = [b for b in ballot.blocks if b["type"] == "actions"]
    buttons = {e["text"]["text"]: e["value"] for e in actions["elements"]}
    assert list(buttons) == ["Open data portals", "Procurement monitoring", "Budget literacy"]
    assert all(e["type"] == "button" for e in actions["elements"])

    # Amina answers in the question's thread; the next question follows.
    q1 = fake.to_user(AMINA)[0]
    fake.posted.clear()
    a1 = await ws.dm(AMINA, "Our budget portal went live &amp; people use it", thread_ts=q1.ts)
    assert "*Question 2 of 3*" in fake.to_user(AMINA)[-1].text
    # ... then just below, without a thread.
    await ws.dm(AMINA, "Procurement data")
    # Kwame answers; Slack retries the same event (X-Slack-Retry-Num): stored once.
    k1 = await ws.dm(KWAME, "We trained 40 clerks")
    retried = await ws.event(
        {
            "type": "message",
            "user": KWAME,
            "text": "We trained 40 clerks",
            "ts": k1,
            "channel": fake.dm_channel(KWAME),
            "channel_type": "im",
        },
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retried.status_code == 200
    # Amina edits her first answer in Slack: the stored answer follows.
    await ws.edit(AMINA, a1, "Our budget portal went live & 3 councils use it")
    assert await answers(ws) == [
        ("Amina", "Our budget portal went live & 3 councils use it"),
        ("Amina", "Procurement data"),
        ("Kwame", "We trained 40 clerks"),
    ]

    # Members vote with the ballot's buttons (signed block_actions payloads): a press
    # adds a vote, a second press on the same button takes it back. Each member is
    # told their votes where only they see it.
    fake.posted.clear()
    data, procurement, budget = buttons.values()
    for user, value in (
        (AMINA, data),
        (AMINA, procurement),
        (KWAME, procurement),
        (KWAME, budget),
        (THANDI, data),
        (THANDI, budget),
        (FATIMA, procurement),
        (AMINA, data),  # changed her mind
        (THANDI, data),  # and so did Thandi
    ):
        assert (await ws.press(user, ballot.ts, value, CHANNEL)).status_code == 200
    assert not public(fake)
    assert ephemeral(fake, AMINA)[-1] == "Your votes: 2. You can change them until voting closes."
    assert ephemeral(fake, THANDI)[-1] == "Your votes: 3. You can change them until voting closes."
    assert await votes(ws) == [("Budget literacy", 2), ("Procurement monitoring", 3)]
    # The ballot in the channel is updated (chat.update) as members vote: the counts
    # and how many have voted, its buttons kept.
    assert ballot.edits == 9 and len(fake.calls("chat.update", ok=True)) == 9
    shown = ballot.blocks[0]["text"]["text"]
    assert "• 1. Open data portals · 0 votes" in shown
    assert "• 2. Procurement monitoring · 3 votes" in shown
    assert "• 3. Budget literacy · 2 votes" in shown
    assert "4 members have voted so far." in shown
    assert [b for b in ballot.blocks if b["type"] == "actions"] == [actions]
    # A press delivered twice (the same action_ts) counts once: no toggle back.
    twice = ws.press_payload(KWAME, ballot.ts, data, CHANNEL, action_ts="1796000000.000001")
    for _ in range(2):
        assert (await ws.interact(twice)).status_code == 200
    assert await votes(ws) == [
        ("Budget literacy", 2),
        ("Open data portals", 1),
        ("Procurement monitoring", 3),
    ]
    assert ephemeral(fake, KWAME)[-1] == (
        "Your votes: 1, 2, 3. You can change them until voting closes."
    )
    assert ballot.edits == 10
    await ws.press(KWAME, ballot.ts, data, CHANNEL)  # a new press takes it back
    assert await votes(ws) == [("Budget literacy", 2), ("Procurement monitoring", 3)]

    # Only the facilitator closes the vote; the ranking goes to the channel with a
    # Block Kit header, and she gets it too.
    fake.posted.clear()
    await ws.command(KWAME, "/agenda close")
    assert "Only a facilitator can use /indaba agenda close" in ephemeral(fake, KWAME)[-1]
    await ws.command(FATIMA, "/agenda close")
    [ranking] = [p for p in public(fake) if "Agenda of" in p.text]
    assert ranking.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Agenda of November meeting", "emoji": True},
    }
    assert ranking.blocks[1]["text"]["text"].splitlines() == [
        "• 1. Procurement monitoring · 3 votes",
        "• 2. Budget literacy · 2 votes",
        "• 3. Open data portals · 0 votes",
        "Thank you to Kwame, Thandi, Amina for proposing items!",
    ]
    assert "1. Procurement monitoring · 3 votes" in ephemeral(fake, FATIMA)[-1]
    # A press after the close changes nothing.
    await ws.press(KWAME, ballot.ts, data, CHANNEL)
    assert ephemeral(fake, KWAME)[-1] == "Voting on the agenda is not open right now."
    assert await votes(ws) == [("Budget literacy", 2), ("Procurement monitoring", 3)]

    # Monday 16 November, 09:00 in Lagos: the week's digest in the channel, once, as a
    # header and a section.
    fake.posted.clear()
    await ws.h.advance(days=3)
    await ws.h.advance(hours=2)
    assert await ws.h.indaba.timetable.run_due() == 0
    [digest] = digests(fake)
    assert [b["type"] for b in digest.blocks] == ["header", "section"]
    body = digest.blocks[1]["text"]["text"]
    assert "*November meeting* is in 4 days." in body
    assert (
        "*Agenda standings*\n"
        "• Procurement monitoring · 3 votes\n"
        "• Budget literacy · 2 votes\n"
        "• Open data portals · 0 votes\n"
    ) in body
    # Amina answered two questions of three and Kwame one: no complete answer yet.
    assert "*Participation:* 0 of 3 answered every pre-meeting question (0%)." in body

    # A day before: the facilitator's brief, with the answers escaped for mrkdwn.
    fake.posted.clear()
    await ws.h.advance(days=3)
    brief = "\n".join(texts(fake.to_user(FATIMA)))
    assert "Amina: Our budget portal went live &amp; 3 councils use it" in brief
    assert "Kwame: We trained 40 clerks" in brief
    # Indaba never answers itself: its own messages echoed back are ignored.
    before = len(fake.posted)
    await ws.event(
        {
            "type": "message",
            "subtype": "bot_message",
            "bot_id": "B0BOT",
            "text": "echo",
            "ts": ws.next_ts(),
            "channel": CHANNEL,
            "channel_type": "channel",
        }
    )
    assert len(fake.posted) == before
    # The timetable's close two days before found the agenda closed: no second ranking.
    assert not [p for p in public(fake) if "Agenda of November meeting" in p.text]

    # After the meeting: a practice and an upvote; the harvest for the facilitator only,
    # where only she sees it.
    await ws.h.advance(days=2)
    await ws.command(KWAME, "/practice Share the slides a day before")
    await ws.command(AMINA, "/practice vote 1")
    fake.posted.clear()
    await ws.command(KWAME, "/harvest")
    assert ephemeral(fake, KWAME) == ["Only a facilitator can use /indaba harvest. Ask Fatima."]
    await ws.command(FATIMA, "/harvest")
    assert not public(fake)
    [harvest] = ephemeral(fake, FATIMA)
    lines = harvest.splitlines()
    assert lines[0] == "Harvest: November meeting"
    for line in (
        "• Amina: Our budget portal went live &amp; 3 councils use it",
        "• Kwame: We trained 40 clerks",
        "• Amina: Procurement data",
        "• 1. Procurement monitoring · 3 votes",
        "• 2. Budget literacy · 2 votes",
        "• 3. Open data portals · 0 votes",
        "• Share the slides a day before · Kwame · 1 vote",
        "• Asked: 3 (Amina, Kwame, Thandi)",
        "• Answered every question: 0",
        "• Answered some: 2",
        "• Response rate: 0%",
    ):
        assert line in lines

    # Monday 23 November: one digest, with the practice leaders.
    fake.posted.clear()
    await ws.h.advance(days=2)
    await ws.h.advance(hours=2)
    [digest] = digests(fake)
    assert [b["type"] for b in digest.blocks] == ["header", "section"]
    body = digest.blocks[1]["text"]["text"]
    assert "*Best practice leaders*\n• Share the slides a day before · 1 vote" in body
