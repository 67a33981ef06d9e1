"""A Community of Practice's month on Slack, through real signed requests and the fake
Web API: setup in the channel, members, questions by DM, answers in threads and just
below, an edit, Slack's retries, the brief."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Member, Reply
from tests.fakes.slack_api import Posted
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
    assert {c.args["users"] for c in fake.calls_to("conversations.open")} >= {AMINA, THANDI}
    await ws.command(FATIMA, "/meeting add 2026-11-20 14:00 November meeting")
    assert "Planned: *November meeting*" in texts(fake.in_channel(CHANNEL))[-1]


async def test_premeeting_month(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)

    # A week before: the first question arrives as a DM to each member.
    fake.posted.clear()
    await ws.h.advance(days=11, hours=3)
    for user in (AMINA, KWAME, THANDI):
        [question] = fake.to_user(user)
        assert "*Question 1 of 3*" in question.text
        assert question.blocks[0]["type"] == "section"

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

    # A day before: the facilitator's brief, with the answers escaped for mrkdwn.
    fake.posted.clear()
    await ws.h.advance(days=6)
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
