"""The facilitator's brief: each member's completion, who has not answered each question,
who received, read or could not be reached, hidden answers left out, and a large
meeting summarised in one message with every answer and name in its file."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from bot.engine.services.questions import question_set
from bot.messages import ConversationKind
from storage.bulk import insert_ignore
from storage.models import Community, Identity, Meeting, Member, OutboxMessage, Prompt, Reply
from storage.statuses import OutboxStatus, PromptStatus
from tests.harness import Harness, to


async def _november(h: Harness) -> None:
    """Amina answers all three questions, Kwame one, Thandi none."""
    await h.setup_community()
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=11, hours=3)
    for text in ("Our budget portal went live", "Procurement data", "Open contracting"):
        await h.say("amina", text)
    await h.say("kwame", "We trained 40 clerks")


async def _brief(h: Harness) -> str:
    [text] = to(await h.say("fatima", "/brief", "#cop"), "fatima")
    return text


async def test_brief_names_who_has_not_answered_and_counts_one_of_three_as_incomplete(
    harness: Harness,
) -> None:
    h = harness
    await _november(h)
    text = await _brief(h)
    # Kwame answered one question of three: not a complete answer.
    assert "**1 of 3 members answered every question (33%)**; 1 answered some of them." in text
    assert "**Completion** (3 questions): Amina 3 of 3 · Kwame 1 of 3 · Thandi 0 of 3" in text
    first = text.split("**1. ")[1].split("**2. ")[0]
    second = text.split("**2. ")[1].split("**3. ")[0]
    assert "- Kwame: We trained 40 clerks" in first
    assert "Not answered yet by 1 member: Thandi." in first
    assert "- Amina: Procurement data" in second
    assert "Not answered yet by 2 members: Kwame, Thandi." in second
    # A small meeting's brief is whole: no file.
    assert "Every answer and every name" not in text


async def test_the_brief_names_who_received_read_or_could_not_be_reached(
    harness: Harness,
) -> None:
    h = harness
    await _november(h)
    now = h.clock.now()
    async with h.indaba.sessions() as session, session.begin():
        ids = dict((await session.execute(select(Member.display_name, Member.id))).all())
        prompt_rows = OutboxMessage.idempotency_key.like("prompt:%")
        await session.execute(
            update(OutboxMessage)
            .where(prompt_rows, OutboxMessage.member_id.in_([ids["Amina"], ids["Kwame"]]))
            .values(delivered_at=now)
        )
        await session.execute(
            update(OutboxMessage)
            .where(prompt_rows, OutboxMessage.member_id == ids["Amina"])
            .values(read_at=now)
        )
        # Thandi blocked the bot: her question was refused and her account is unreachable.
        await session.execute(
            update(OutboxMessage)
            .where(prompt_rows, OutboxMessage.member_id == ids["Thandi"])
            .values(status=OutboxStatus.UNREACHABLE)
        )
        await session.execute(
            update(Identity)
            .where(Identity.member_id == ids["Thandi"])
            .values(unreachable_at=now, unreachable_reason="blocked")
        )
    text = await _brief(h)
    assert "**Received the questions (2)**: Amina, Kwame. **Read them (1)**: Amina." in text
    assert "**Could not be reached (1)**: Thandi." in text


async def test_hidden_answers_leave_the_brief(harness: Harness) -> None:
    h = harness
    await _november(h)
    async with h.indaba.sessions() as session, session.begin():
        await session.execute(
            update(Reply).where(Reply.text == "Procurement data").values(hidden_at=h.clock.now())
        )
    text = await _brief(h)
    assert "Procurement data" not in text
    # The hidden answer does not count: Amina has answered two questions of three.
    assert "Amina 2 of 3 · Kwame 1 of 3 · Thandi 0 of 3" in text
    assert "**0 of 3 members answered every question (0%)**; 2 answered some of them." in text


MEMBERS = 120
QUESTIONS = 3


def _answer(member: int, number: int) -> str:
    return f"Member {member} on question {number}: " + "we mapped the water points " * 4


async def _crowd(h: Harness) -> None:
    """MEMBERS more members, asked every question: member i answered i % 4 of them."""
    async with h.indaba.sessions() as session, session.begin():
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        questions = await question_set(session, h.indaba.texts, meeting)
        assert len(questions) == QUESTIONS
        now = h.clock.now()
        ids = await insert_ignore(
            session,
            Member,
            [
                {
                    "community_id": community.id,
                    "display_name": f"Member {i:03d}",
                    "role": "member",
                    "opted_out": False,
                    "anonymous": False,
                    "joined_at": now,
                }
                for i in range(MEMBERS)
            ],
            ["id"],
        )
        number = {
            member_id: int(name.split()[1])
            for member_id, name in (
                await session.execute(
                    select(Member.id, Member.display_name).where(Member.id.in_(ids))
                )
            ).all()
        }
        await insert_ignore(
            session,
            Identity,
            [
                {
                    "member_id": m,
                    "community_id": community.id,
                    "platform": "memory",
                    "user_id": f"crowd{number[m]}",
                    "display_name": f"Member {number[m]:03d}",
                    "created_at": now,
                }
                for m in ids
            ],
            ["id"],
        )
        await insert_ignore(
            session,
            Prompt,
            [
                {
                    "meeting_id": meeting.id,
                    "question_id": q.id,
                    "member_id": m,
                    "status": PromptStatus.ANSWERED if k < number[m] % 4 else PromptStatus.ASKED,
                    "asked_at": now,
                    "created_at": now,
                }
                for m in ids
                for k, q in enumerate(questions)
            ],
            ["question_id", "member_id"],
        )
        position = {q.id: k for k, q in enumerate(questions)}
        prompts = (
            await session.execute(
                select(Prompt.id, Prompt.member_id, Prompt.question_id).where(
                    Prompt.member_id.in_(ids), Prompt.status == PromptStatus.ANSWERED
                )
            )
        ).all()
        await insert_ignore(
            session,
            Reply,
            [
                {
                    "prompt_id": p,
                    "member_id": m,
                    "received_at": now + timedelta(seconds=p),
                    "text": _answer(number[m], position[q] + 1),
                }
                for p, m, q in prompts
            ],
            ["prompt_id"],
        )


async def test_a_large_meeting_is_one_message_and_a_file_with_everything(
    database_url: str, tmp_path: object
) -> None:
    h = await Harness.create(database_url, tmp_path, http_port=0)  # type: ignore[arg-type]
    try:
        await _november(h)
        await _crowd(h)
        await h.indaba.serve_http()
        h.indaba.links.base_url = f"http://127.0.0.1:{await h.indaba.http_port()}"
        sent = await h.say("fatima", "/brief", "#cop")
        [message] = [s.message for s in sent if s.message.address.conversation_id == "fatima"]
        text = message.text
        # 123 members asked: figures, a few answers per question, counts instead of names.
        assert len(text) < 6000
        assert "**31 of 123 members answered every question (25%)**" in text
        assert "3 of 3: 31 members · 2 of 3: 30 members · 1 of 3: 31 members" in text
        assert text.count("- Member ") <= 3 * 10
        assert "more answers in the file." in text
        assert "Not answered yet by 62 members." in text
        assert message.address.kind is ConversationKind.DM
        attachment = message.attachment
        assert attachment is not None and attachment.filename.startswith("brief-")
        assert attachment.url in text
        async with httpx.AsyncClient(timeout=60) as client:
            got = await client.get(attachment.url)
            # The meeting's own pages do not open the brief's file, nor the other way.
            meeting_id = int(attachment.filename.removeprefix("brief-").removesuffix(".csv"))
            pages = h.indaba.links.meeting(meeting_id, h.indaba.links.expiry(h.clock.now()))
            wrong = await client.get(pages.replace("/harvest", "/brief.csv"))
            harvest = await client.get(attachment.url.replace("/brief.csv", "/harvest"))
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert wrong.status_code == 403 and harvest.status_code == 403
        assert got.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert rows[0] == ["section", "question", "member", "text", "figure"]
        answers = [r for r in rows if r[0] == "answer"]
        assert len(answers) == sum(i % 4 for i in range(MEMBERS)) + 4
        assert ["answer", "2", "Member 007", _answer(7, 2), ""] in answers
        completion = {r[2]: r[4] for r in rows if r[0] == "completion"}
        assert len(completion) == MEMBERS + 3 and completion["Member 006"] == "2/3"
        missing = [r for r in rows if r[0] == "not_answered"]
        assert ["not_answered", "3", "Member 006", "", ""] in missing
        assert len(missing) == sum(3 - i % 4 for i in range(MEMBERS)) + 3 + 2
    finally:
        await h.aclose()


async def test_the_brief_shows_who_is_coming_and_the_open_actions(harness: Harness) -> None:
    from datetime import date

    from bot.engine.services import actions, attendance
    from storage.statuses import AttendanceIntent

    h = harness
    await _november(h)
    now = h.clock.now()
    async with h.indaba.sessions() as session, session.begin():
        meeting = await session.scalar(select(Meeting))
        assert meeting is not None
        members = {m.display_name: m for m in (await session.scalars(select(Member))).all()}
        amina, kwame, thandi = members["Amina"], members["Kwame"], members["Thandi"]
        await attendance.record_intent(session, meeting, amina, AttendanceIntent.YES, now)
        await attendance.record_intent(session, meeting, kwame, AttendanceIntent.MAYBE, now)
        await attendance.record_intent(session, meeting, thandi, AttendanceIntent.NO, now)
        await actions.add_action(
            session, meeting, kwame, "Draft the data policy", date(2026, 11, 30),
            members["Fatima"], now, date(2026, 11, 13),
        )  # fmt: skip
    text = await _brief(h)
    assert "**Coming (1)**: Amina · **maybe (1)**: Kwame · **not coming (1)**: Thandi" in text
    assert (
        "**Open actions (1)**\n- #1 Draft the data policy · Kwame · by Monday 30 November" in text
    )


async def test_without_a_web_server_the_file_travels_inside_the_message(harness: Harness) -> None:
    import base64

    from bot.engine.services.brief import brief_message

    h = harness
    await _november(h)
    await _crowd(h)
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        found = await brief_message(
            session, h.indaba.texts, community, meeting, "en", None, h.clock.now()
        )
    attachment = found.attachment
    assert attachment is not None and attachment.media_type == "text/csv"
    assert f"in the attached file, {attachment.filename}." in found.text
    assert "data:" not in found.text
    header, _, body = attachment.url.partition(",")
    assert header == "data:text/csv;base64"
    data = base64.b64decode(body)
    assert data.startswith("\ufeffsection,question,member,text,figure".encode())
    assert ("answer,2,Member 007," + _answer(7, 2)).encode() in data
