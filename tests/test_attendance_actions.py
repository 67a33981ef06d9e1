"""Attendance, questions that change until they go out, /remind now, decisions and
actions followed up on their due date."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

from sqlalchemy import select

from adapters.memory.adapter import Sent
from bot.engine.services import actions, attendance
from bot.engine.services.questions import question_set, question_text
from bot.engine.texts import Texts
from bot.messages import ChoiceSelected, Sender
from storage.models import Action, Meeting, PracticeAsk
from storage.statuses import ActionStatus
from tests.harness import Harness, to

_presses = itertools.count(1)


async def press(
    h: Harness, user: str, sent: Sent, *choices: str, toggle: bool = False
) -> list[Sent]:
    """``user`` chooses ``choices`` on a message they were sent: their whole selection
    (a poll's answer), or with ``toggle`` a button press flipping each."""
    assert sent.message.choices, "no choices on that message"
    event = ChoiceSelected(
        h.conversation("dm", user),
        Sender(h.adapter.name, user, user.capitalize()),
        f"press{next(_presses)}",
        choice_message_id=sent.ref.message_id,
        choice_ids=choices,
        toggle=toggle,
    )
    await h.adapter.push(event)
    return await h.settle()


def one(sent: list[Sent], user: str, words: str) -> Sent:
    found = [
        s for s in sent if s.message.address.conversation_id == user and words in s.message.text
    ]
    assert len(found) == 1, [s.message.text for s in sent]
    return found[0]


async def add_meeting(h: Harness) -> None:
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")


async def test_attendance_asked_with_the_questions_and_the_takeaway_to_who_came(
    harness: Harness,
) -> None:
    h = harness
    await h.setup_community()
    await add_meeting(h)
    sent = await h.advance(days=11, hours=3)
    # Each member: the first question, then whether they will come (numbered: no buttons).
    amina_asked = one(sent, "amina", "Will you come")
    assert "1. Yes, I will come\n2. No, I cannot\n3. Maybe" in amina_asked.message.text
    assert [c.id for c in amina_asked.message.choices] == ["yes", "no", "maybe"]
    await press(h, "amina", amina_asked, "yes")
    await press(h, "kwame", one(sent, "kwame", "Will you come"), "maybe")
    noted = await press(h, "thandi", one(sent, "thandi", "Will you come"), "no")
    assert "Thank you for saying so" in to(noted, "thandi")[0]
    # A typed number, on a platform without buttons, while a question is open: asked back.
    back = await h.say("kwame", "1")
    assert "Is 1 your answer to question 1" in to(back, "kwame")[0]

    async with h.indaba.sessions() as session:
        coming = await attendance.who_is_coming(session, 1)
    assert [m.display_name for m in coming.yes] == ["Amina"]
    assert [m.display_name for m in coming.maybe] == ["Kwame"]
    assert [m.display_name for m in coming.no] == ["Thandi"]

    early = await h.say("fatima", "/attended 1 @Amina", "#cop")
    assert "has not started yet" in to(early, "fatima")[0]
    # The meeting (20 November, 13:00 UTC) is over an hour later: Fatima marks who came.
    await h.advance(days=7, hours=5)
    marked = await h.say("fatima", "/attended 1 @Amina @thandi @nobody", "#cop")
    reply = to(marked, "fatima")[0]
    assert "Amina, Thandi (2 members in all)" in reply and "@nobody" in reply
    refused = await h.say("kwame", "/attended 1 @Kwame", "#cop")
    assert "Only a facilitator" in to(refused, "kwame")[0]
    async with h.indaba.sessions() as session:
        came = await attendance.who_came(session, 1)
    assert [m.display_name for m in came] == ["Amina", "Thandi"]

    # The take-away question goes to those who came, not to Kwame.
    sent = await h.advance(hours=3)
    assert {s.message.address.conversation_id for s in sent if "take away" in s.message.text} == {
        "amina",
        "thandi",
    }
    # Marked later from the list of choices: Kwame came after all, and is asked too.
    listed = await h.say("fatima", "/attended 1", "#cop")
    pick = one(listed, "fatima", "Who came")
    assert [c.label for c in pick.message.choices][:2] == ["Amina", "Kwame"]
    later = await h.say("fatima", "2")
    assert "Amina, Kwame, Thandi" in to(later, "fatima")[0]
    assert any("take away" in t for t in to(later, "kwame"))
    async with h.indaba.sessions() as session:
        asked = (await session.scalars(select(PracticeAsk.member_id))).all()
    assert len(asked) == 3

    # A poll's answer is the whole selection; a button press flips one member.
    ids = {c.label: c.id for c in pick.message.choices}
    await press(h, "fatima", pick, ids["Amina"], ids["Kwame"])
    assert await present(h) == ["Amina", "Kwame"]
    await press(h, "fatima", pick, ids["Kwame"], toggle=True)
    assert await present(h) == ["Amina"]
    await press(h, "fatima", pick, ids["Thandi"], toggle=True)
    assert await present(h) == ["Amina", "Thandi"]


async def present(h: Harness) -> list[str]:
    async with h.indaba.sessions() as session:
        return [m.display_name for m in await attendance.who_came(session, 1)]


async def test_questions_edit_and_move_until_they_go_out(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await h.say("amina", "/lang fr")
    await add_meeting(h)
    moved = await h.say("fatima", "/questions move 3 1", "#cop")
    listed = to(moved, "fatima")[0]
    assert "#1 November meeting" in listed
    third_first = listed.split("- 1. ")[1].split("\n")[0]
    await h.say("fatima", "/questions edit 2 What worked well since October?", "#cop")
    edited = await h.say(
        "fatima", "/questions edit 2 fr Qu'est-ce qui a marché depuis octobre ?", "#cop"
    )
    assert "Qu'est-ce qui a marché depuis octobre ?" in to(edited, "fatima")[0]
    await h.say("fatima", "/questions add sw Ni changamoto gani kubwa zaidi?", "#cop")
    bad = await h.say("fatima", "/questions move 1 9", "#cop")
    assert "no question with that number" in to(bad, "fatima")[0]
    nope = await h.say("kwame", "/questions edit 1 Mine now", "#cop")
    assert "Only a facilitator" in to(nope, "kwame")[0]

    sent = await h.advance(days=11, hours=3)
    assert third_first in to(sent, "kwame")[0] and "Question 1 of 4" in to(sent, "kwame")[0]
    await h.say("kwame", "Our budget portal went live")
    assert "What worked well since October?" in " ".join(
        to(await h.say("kwame", "/questions"), "kwame")
    )
    assert (
        "Your answers for #1 November meeting" in to(await h.say("kwame", "/answers"), "kwame")[0]
    )
    french = to(await h.say("amina", "/questions"), "amina")[0]
    assert "Qu'est-ce qui a marché depuis octobre ?" in french
    assert "Ni changamoto gani kubwa zaidi?" in french  # written in Swahili only so far

    # Once out, they can no longer be reworded or reordered.
    late = await h.say("fatima", "/questions edit 1 Too late", "#cop")
    assert "have gone out to members" in to(late, "fatima")[0]
    late = await h.say("fatima", "/questions move 1 2", "#cop")
    assert "have gone out to members" in to(late, "fatima")[0]


async def test_remind_now_once_per_member(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    await add_meeting(h)
    early = await h.say("fatima", "/remind now", "#cop")
    assert "have not gone out yet" in to(early, "fatima")[0]
    await h.advance(days=11, hours=3)
    for answer in ("One", "Two", "Three"):
        await h.say("amina", f"{answer}: our portal went live")
    await h.advance(days=1)
    sent = await h.say("fatima", "/remind now", "#cop")
    assert "Reminder sent for **November meeting** (#1) to Kwame." in to(sent, "fatima")
    assert "still open" in to(sent, "kwame")[0]
    assert not to(sent, "amina")
    again = await h.say("fatima", "/remind now", "#cop")
    assert "Nobody to remind" in to(again, "fatima")[0]
    # The timetable's reminder day: Kwame was reminded already.
    later = await h.advance(days=3)
    assert not [t for t in to(later, "kwame") if "still open" in t]


async def test_decisions_and_actions_followed_up(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina", "kwame"))
    none_yet = await h.say("fatima", "/decision Publish the budget data", "#cop")
    assert "no meeting" in to(none_yet, "fatima")[0]
    await add_meeting(h)
    await h.advance(days=18, hours=8)  # 20 November, 14:00 UTC: the meeting is on

    decided = await h.say("fatima", "/decision Publish the budget data monthly", "#cop")
    assert "Decision recorded for #1" in to(decided, "#cop")[0]
    refused = await h.say("amina", "/decision We all agree", "#cop")
    assert "Only a facilitator" in to(refused, "amina")[0]
    listed = to(await h.say("amina", "/decision", "#cop"), "amina")[0]
    assert "- Publish the budget data monthly" in listed

    added = await h.say(
        "fatima", "/action add @Amina share the procurement data by 2026-11-27", "#cop"
    )
    assert (
        "Action 1 for Amina: share the procurement data, due Friday, 27 November 2026"
        in (to(added, "#cop")[0])
    )
    assert "you took on action 1" in to(added, "amina")[0]
    await h.say("fatima", "/action add @kwame train the clerks by 2026-12-04", "#cop")
    wrong = await h.say("fatima", "/action add @nobody do it by 2026-12-04", "#cop")
    assert "I do not know @nobody" in to(wrong, "fatima")[0]
    past = await h.say("fatima", "/action add @Kwame do it by 2026-11-01", "#cop")
    assert "already passed" in to(past, "fatima")[0]
    nodate = await h.say("fatima", "/action add @Kwame do it soon", "#cop")
    assert "due date" in to(nodate, "fatima")[0]

    # The due date, at the sending hour: Amina is asked how it goes.
    sent = await h.advance(days=7)
    check = one(sent, "amina", "Action 1, due Friday, 27 November 2026")
    assert [c.id for c in check.message.choices] == ["done", "working", "dropped"]
    assert not to(sent, "kwame")
    stranger = await press(h, "kwame", check, "done")
    assert stranger == [] or not any("Well done" in t for t in to(stranger, "kwame"))
    noted = await press(h, "amina", check, "working")
    assert "ask again in a week" in to(noted, "amina")[0]

    # A week later: the follow-up; Kwame's action is due the same day.
    sent = await h.advance(days=7)
    follow = one(sent, "amina", "A week ago you were still working on action 1")
    one(sent, "kwame", "Action 2, due Friday, 4 December 2026")
    await press(h, "amina", follow, "done")
    async with h.indaba.sessions() as session:
        open_now = await actions.open_actions(session, 1)
        done = await actions.done_actions(session, 1)
        of_meeting = await actions.meeting_actions(session, 1)
        decisions = await actions.meeting_decisions(session, 1)
    assert [(a.number, a.owner.display_name) for a in open_now] == [(2, "Kwame")]
    assert [(a.number, a.status) for a in done] == [(1, ActionStatus.DONE)]
    assert [a.number for a in of_meeting] == [1, 2]
    assert [d.text for d in decisions] == ["Publish the budget data monthly"]

    # The next meeting's agenda proposals show what is open and what was done.
    await h.say("fatima", "/meeting add 2026-12-18 14:00 December meeting", "#cop")
    proposals = to(await h.say("kwame", "/agenda"), "kwame")[0]
    follow_up = proposals.split("**Actions to follow up**")[1]
    assert "- 2. train the clerks · Kwame · due Friday, 4 December 2026" in follow_up
    assert "- 1. share the procurement data · Amina · done" in follow_up

    listed = to(await h.say("kwame", "/action list"), "kwame")[0]
    assert "2. train the clerks · Kwame" in listed and "**Done**" in listed
    not_his = await h.say("amina", "/action done 2")
    assert "Only its owner or a facilitator" in to(not_his, "amina")[0]
    closed = await h.say("kwame", "/action done 2")
    assert "Action 2 is marked done" in to(closed, "kwame")[0]
    twice = await h.say("kwame", "/action done 2")
    assert "closed already" in to(twice, "kwame")[0]
    # Nobody is asked again about a closed action.
    later = await h.advance(days=14)
    assert not [s for s in later if "How is it going" in s.message.text]
    async with h.indaba.sessions() as session:
        rows = (await session.scalars(select(Action).order_by(Action.number))).all()
        assert [r.check_on for r in rows] == [None, None]
        assert rows[0].due_on == date(2026, 11, 27)
        meeting = await session.get(Meeting, 1)
        assert meeting is not None


def test_choice_labels_fit_a_whatsapp_reply_button() -> None:
    """Reply buttons on WhatsApp take 20 characters; the choices are buttons there."""
    texts = Texts(Path(__file__).resolve().parent.parent / "prompts")
    keys = [f"attendance.{i}" for i in ("yes", "no", "maybe")] + [
        f"action.choice_{s}" for s in ("done", "working", "dropped")
    ]
    for language in texts.languages:
        for key in keys:
            assert len(texts.render(key, language)) <= 20, (language, key)


async def test_a_communitys_own_question_set_for_later_meetings(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    await add_meeting(h)
    await h.say("fatima", "/questions move 3 1", "#cop")
    await h.say("fatima", "/questions edit 2 fr Qu'est-ce qui a marché ?", "#cop")
    await h.say("fatima", "/questions add Who should we invite next time?", "#cop")
    saved = await h.say("fatima", "/questions save", "#cop")
    assert (
        "From now on every meeting of Lagos Civic Tech starts from these 4 questions"
        in to(saved, "fatima")[0]
    )
    refused = await h.say("amina", "/questions save", "#cop")
    assert "Only a facilitator" in to(refused, "amina")[0]
    await h.say("fatima", "/meeting add 2026-12-18 14:00 December meeting", "#cop")

    texts = h.indaba.texts
    async with h.indaba.sessions() as session, session.begin():
        first, second = (await session.get(Meeting, 1)), (await session.get(Meeting, 2))
        assert first is not None and second is not None
        ours = await question_set(session, texts, first)
        later = await question_set(session, texts, second)
        for language in ("en", "fr"):
            assert [question_text(texts, q, language) for q in later] == [
                question_text(texts, q, language) for q in ours
            ]
        assert question_text(texts, later[1], "fr") == "Qu'est-ce qui a marché ?"
        assert question_text(texts, later[3], "sw") == "Who should we invite next time?"

    reset = await h.say("fatima", "/questions reset", "#cop")
    assert "start from Indaba's library again" in to(reset, "fatima")[0]
    await h.say("fatima", "/meeting add 2027-01-15 14:00 January meeting", "#cop")
    async with h.indaba.sessions() as session, session.begin():
        third = await session.get(Meeting, 3)
        assert third is not None
        library = [q.library_key for q in await question_set(session, texts, third)]
    assert library == [q.key for q in texts.questions["meeting"]]
