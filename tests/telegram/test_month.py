"""A CoP's month on Telegram, told through the fake Bot API, in polling and webhook mode."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import AgendaItem, AgendaRound, AgendaVote, Identity, Reply
from tests.fakes.telegram_api import BOT_USERNAME
from tests.telegram.conftest import TelegramStory

GROUP = -1001234
FATIMA, AMINA, KWAME, THANDI = 100, 101, 102, 103


def digests(texts: list[str]) -> list[str]:
    return [t for t in texts if t.startswith("<b>This week in ")]


async def test_a_month_on_telegram(story: TelegramStory) -> None:
    fake = story.fake
    setup, join = await story.h.create_community()
    fake.group(GROUP, "Lagos Civic Tech")
    for user_id, name in (
        (FATIMA, "Fatima"),
        (AMINA, "Amina"),
        (KWAME, "Kwame"),
        (THANDI, "Thandi"),
    ):
        fake.user(user_id, name)

    # "/" shows the commands, in groups and in private chats.
    private = {c["command"] for c in fake.commands["all_private_chats"]}
    assert {"help", "join", "setup", "meeting"} <= private
    assert "join" not in {c["command"] for c in fake.commands["all_group_chats"]}

    # The facilitator links the group; she never started the bot, so the bot names her
    # in the group with a link to a private chat instead of writing to her.
    await story.say(FATIMA, f"/setup@{BOT_USERNAME} {setup}", GROUP)
    to_group = fake.texts_to(GROUP)
    assert "Lagos Civic Tech" in to_group[0]
    nudge = to_group[-1]
    assert f'<a href="tg://user?id={FATIMA}">Fatima</a>' in nudge
    [[start_button]] = fake.sent_to(GROUP)[-1]["reply_markup"]["inline_keyboard"]
    assert start_button["url"] == f"https://t.me/{BOT_USERNAME}"
    assert fake.forbidden >= 1

    # Members open the deep link t.me/<bot>?start=<code>: Telegram sends "/start CODE".
    code = join.replace("-", "")
    for member in (AMINA, KWAME):
        await story.say(member, f"/start {code}")
        assert fake.sent_to(member), "the welcome reaches a member who started the bot"
    await story.say(FATIMA, "/start")

    # Thandi joins the group but never starts the bot: she is named in the group, in
    # the next day's nudge (the group got one today, naming Fatima).
    await story.processed(await fake.joins(GROUP, THANDI))
    assert not any(f"tg://user?id={THANDI}" in t for t in fake.texts_to(GROUP))
    async with story.h.indaba.sessions() as session:
        unreachable = (
            await session.scalars(
                select(Identity.user_id).where(Identity.unreachable_at.is_not(None))
            )
        ).all()
    assert unreachable == [str(THANDI)]

    # A meeting. Two weeks before it the agenda opens for proposals in the group.
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", GROUP)
    assert "Planned" in fake.texts_to(GROUP)[-1]
    await story.advance(days=4, hours=3)
    assert any("open for proposals" in t for t in fake.texts_to(GROUP))
    assert sum(f"tg://user?id={THANDI}" in t for t in fake.texts_to(GROUP)) == 1

    # Members propose in the group (with or without the bot's name); each proposer
    # is thanked privately, the group is not flooded.
    in_group = len(fake.sent_to(GROUP))
    await story.say(AMINA, f"/agenda@{BOT_USERNAME} add Open data portals", GROUP)
    await story.say(KWAME, "/agenda add Procurement monitoring", GROUP)
    await story.say(FATIMA, "/agenda add Budget literacy\nReading a county budget", GROUP)
    assert len(fake.sent_to(GROUP)) == in_group
    assert fake.texts_to(AMINA)[-1] == "Added as item 1: Open data portals. Thank you!"
    assert fake.texts_to(KWAME)[-1] == "Added as item 2: Procurement monitoring. Thank you!"
    assert fake.texts_to(FATIMA)[-1] == "Added as item 3: Budget literacy. Thank you!"

    # A week before the meeting the questions arrive as private messages and the
    # ballot is posted to the group as a native, non-anonymous, multiple-answer poll.
    before = {m: len(fake.sent_to(m)) for m in (AMINA, KWAME)}
    await story.advance(days=7)
    questions = {
        m: next(q for q in fake.sent_to(m)[before[m] :] if "Question 1 of 3" in q["text"])
        for m in (AMINA, KWAME)
    }
    [sent_poll] = fake.called("sendPoll")
    assert int(sent_poll["chat_id"]) == GROUP
    assert sent_poll["is_anonymous"] in (False, "false", "False")
    assert sent_poll["allows_multiple_answers"] in (True, "true", "True")
    [(poll_id, where)] = fake.polls.items()
    ballot = fake.messages[(where["chat_id"], where["message_id"])]["poll"]
    assert "Vote on the agenda of November meeting" in ballot["question"]
    assert [o["text"] for o in ballot["options"]] == [
        "Open data portals",
        "Procurement monitoring",
        "Budget literacy",
    ]
    assert not ballot["is_anonymous"] and ballot["allows_multiple_answers"]
    # Telegram only sends poll answers to a bot that asks for them.
    asked = fake.called("setWebhook") or fake.called("getUpdates")
    assert "poll_answer" in asked[-1]["allowed_updates"]

    # Amina answers by replying to the question, then corrects herself by editing.
    answer = await story.say(
        AMINA, "Budget portal is live", reply_to=questions[AMINA]["message_id"]
    )
    assert "Question 2 of 3" in fake.texts_to(AMINA)[-1]
    await story.processed(
        await fake.edit(AMINA, answer["message_id"], "Budget portal went live <3")
    )
    # Kwame just writes.
    await story.say(KWAME, "We trained 40 clerks & 3 judges")
    async with story.h.indaba.sessions() as session:
        answers = sorted((await session.scalars(select(Reply.text))).all())
    assert answers == ["Budget portal went live <3", "We trained 40 clerks & 3 judges"]

    # Members answer the poll: Telegram sends each member's whole selection, again
    # whenever they change it, and an empty one when they retract their vote. Thandi
    # never started the bot, yet her answers in the group count.
    dms = {m: len(fake.sent_to(m)) for m in (FATIMA, AMINA, KWAME)}
    for user, options in (
        (AMINA, [0, 1]),
        (KWAME, [1, 2]),
        (THANDI, [0]),
        (FATIMA, [1]),
        (AMINA, [1, 2]),  # changed her mind: not item 1 after all
        (THANDI, []),  # retracted
    ):
        await story.processed(await fake.vote(user, poll_id, options))
    # The poll shows each member their own answer: no private confirmation.
    assert {m: len(fake.sent_to(m)) for m in dms} == dms
    async with story.h.indaba.sessions() as session:
        votes = (
            await session.execute(
                select(AgendaItem.title, func.count(AgendaVote.member_id))
                .join(AgendaVote, AgendaVote.item_id == AgendaItem.id)
                .group_by(AgendaItem.title)
                .order_by(AgendaItem.title)
            )
        ).all()
    assert [tuple(v) for v in votes] == [("Budget literacy", 2), ("Procurement monitoring", 3)]

    # A member cannot close the vote; the facilitator can, and the ranking is posted
    # to the group (the retracted and the changed votes are not counted).
    await story.say(KWAME, "/agenda close", GROUP)
    assert "Only a facilitator can use /agenda" in fake.texts_to(KWAME)[-1]
    in_group = len(fake.sent_to(GROUP))
    await story.say(FATIMA, "/agenda close", GROUP)
    [ranking] = fake.texts_to(GROUP)[in_group:]
    assert ranking.splitlines()[1:4] == [
        "• 1. Procurement monitoring · 3 votes",
        "• 2. Budget literacy · 2 votes",
        "• 3. Open data portals · 0 votes",
    ]
    assert "<b>Agenda of November meeting</b>" in ranking
    # The ballot's native poll is stopped, so members see the vote has ended.
    [stopped] = fake.called("stopPoll")
    assert (int(stopped["chat_id"]), int(stopped["message_id"])) == (
        where["chat_id"],
        where["message_id"],
    )
    assert fake.messages[(where["chat_id"], where["message_id"])]["poll"]["is_closed"]
    assert "Thank you to Kwame, Fatima, Amina for proposing items!" in ranking
    assert "1. Procurement monitoring · 3 votes" in fake.texts_to(FATIMA)[-1]
    async with story.h.indaba.sessions() as session:
        closed = await session.scalar(select(AgendaRound))
    assert closed is not None and closed.status == "closed"
    assert [(r["rank"], r["title"], r["votes"]) for r in closed.ranking] == [
        (1, "Procurement monitoring", 3),
        (2, "Budget literacy", 2),
        (3, "Open data portals", 0),
    ]
    # An answer after the close changes nothing; the member is told voting is over.
    await story.processed(await fake.vote(KWAME, poll_id, [0]))
    assert fake.texts_to(KWAME)[-1] == "Voting on the agenda is not open right now."

    # Monday 16 November, 09:00 in Lagos: the week's digest in the group, once, with
    # the standings of the closed agenda and the answers so far.
    in_group = len(fake.sent_to(GROUP))
    await story.advance(days=3)
    await story.advance(hours=2)
    assert await story.h.indaba.timetable.run_due() == 0
    [digest] = digests(fake.texts_to(GROUP)[in_group:])
    assert digest.startswith("<b>This week in Lagos Civic Tech</b>\n")
    assert "<b>November meeting</b> is in 4 days." in digest
    assert (
        "<b>Agenda standings</b>\n"
        "• Procurement monitoring · 3 votes\n"
        "• Budget literacy · 2 votes\n"
        "• Open data portals · 0 votes\n"
    ) in digest
    # Each answered one question of three: no complete answer yet.
    assert "<b>Participation:</b> 0 of 2 answered every pre-meeting question (0%)." in digest

    # A day before the meeting the facilitator gets the brief in her private chat,
    # with member text escaped for Telegram's HTML.
    await story.advance(days=3)
    brief = fake.texts_to(FATIMA)[-1]
    assert "Budget portal went live &lt;3" in brief
    assert "40 clerks &amp; 3 judges" in brief
    # The timetable's own close two days before found the agenda closed already:
    # the ranking reached the group once.
    assert sum("Agenda of November meeting" in t for t in fake.texts_to(GROUP)) == 1

    # After the meeting a member shares a practice and another upvotes it.
    await story.advance(days=2)
    await story.say(KWAME, "/practice Share the slides a day before")
    await story.say(AMINA, "/practice vote 1")
    # Only the facilitator gets the harvest, in her private chat: the answers, the
    # ranked agenda, the practices and who took part.
    await story.say(KWAME, "/harvest", GROUP)
    assert fake.texts_to(KWAME)[-1] == "Only a facilitator can use /harvest. Ask Fatima."
    in_group = len(fake.sent_to(GROUP))
    await story.say(FATIMA, f"/harvest@{BOT_USERNAME}", GROUP)
    assert len(fake.sent_to(GROUP)) == in_group
    harvest = fake.texts_to(FATIMA)[-1].splitlines()
    assert harvest[0] == "<b>Harvest: November meeting</b>"
    for line in (
        "• Amina: Budget portal went live &lt;3",
        "• Kwame: We trained 40 clerks &amp; 3 judges",
        "• 1. Procurement monitoring · 3 votes",
        "• 2. Budget literacy · 2 votes",
        "• 3. Open data portals · 0 votes",
        "• Share the slides a day before · Kwame · 1 vote",
        "• Asked: 2 (Amina, Kwame)",
        "• Answered every question: 0",
        "• Answered some: 2",
        "• Response rate: 0%",
    ):
        assert line in harvest

    # Monday 23 November: one digest, with the practice leaders.
    await story.advance(days=2)
    await story.advance(hours=2)
    [digest] = digests(fake.texts_to(GROUP)[in_group:])
    assert "<b>Best practice leaders</b>\n• Share the slides a day before · 1 vote" in digest
    assert not story.fake.webhook_failures


# -- a month in a group that grows ------------------------------------------------------------

BASIC, SUPER, MEETINGS_TOPIC = -4300, -1004300, 11
NIA, SIPHO = 104, 105
# Long answers full of emoji: each is about 900 characters and 1,700 UTF-16 units, so
# the brief that gathers them is well over Telegram's 4,096 units.
ANSWERS = {
    AMINA: "Water points 💧🗺️ mapped in Kibera with the county: " + "🚰 borehole ok, " * 55,
    KWAME: "Procurement 📑 notices published weekly 🎉 " + "📈 tenders open, " * 55,
    THANDI: "Budget hearings 🏛️ in three wards: " + "🗣️ residents asked, " * 50,
    NIA: "Sensor maintenance 🔧 training for clerks 👩🏾‍💻 " + "🔋 batteries swapped, " * 45,
    SIPHO: "Open data portal 🌍 launch in Durban 🇿🇦 " + "📊 dataset added, " * 55,
}


async def test_a_month_in_a_group_that_grows(story: TelegramStory) -> None:
    """A basic group becomes a supergroup mid-month and opens a topic for meetings;
    three members start the bot late (one by the deep link, two by pressing Start);
    everyone answers at length with emoji; the brief and the harvest arrive whole."""
    from adapters.telegram.render import render_html
    from storage.models import OutboxMessage
    from storage.statuses import OutboxStatus

    fake = story.fake
    setup, join = await story.h.create_community()
    code = join.replace("-", "")
    fake.group(BASIC, "Lagos Civic Tech", kind="group")
    people = {FATIMA: "Fatima", AMINA: "Amina", KWAME: "Kwame", THANDI: "Thandi"}
    for user_id, name in {**people, NIA: "Nia", SIPHO: "Sipho"}.items():
        fake.user(user_id, name)
    await story.say(FATIMA, "/start")
    await story.say(FATIMA, f"/setup {setup}", BASIC)
    for member in (AMINA, KWAME):
        await story.say(member, f"/start {code}")
    # Three join the group before starting the bot: one group post names them.
    for member in (THANDI, NIA, SIPHO):
        await story.processed(await fake.joins(BASIC, member))
    await story.say(FATIMA, "/meeting add 2026-11-20 14:00 November meeting", BASIC)
    await story.advance(days=4, hours=3)  # Friday 6th: the agenda opens
    assert any("open for proposals" in t for t in fake.texts_to(BASIC))
    await story.say(AMINA, "/agenda add Open data portals 🌍", BASIC)

    # Saturday: the group passes 200 members and becomes a supergroup with topics.
    await story.advance(days=1)
    await story.processed(await fake.migrate(BASIC, SUPER, by=FATIMA))
    fake.topic(SUPER, MEETINGS_TOPIC, "Meetings")
    to_basic = len(fake.called("sendMessage", ok=None))
    await story.say(KWAME, "/agenda add Procurement monitoring 📑", SUPER, thread=MEETINGS_TOPIC)
    await story.say(
        FATIMA, "/meeting add 2026-12-18 14:00 December meeting", SUPER, thread=MEETINGS_TOPIC
    )
    assert "Planned" in fake.texts_to(SUPER, MEETINGS_TOPIC)[-1]  # answered in the topic
    # Sipho opens the deep link: the welcome and the wall invitation he missed.
    await story.say(SIPHO, f"/start {code}")
    assert "Welcome to" in fake.texts_to(SIPHO)[0]
    assert not any("already a member" in t for t in fake.texts_to(SIPHO))

    # Friday 13th: the questions, and the ballot in the supergroup.
    await story.advance(days=6, hours=1)
    [poll] = fake.called("sendPoll")
    assert int(poll["chat_id"]) == SUPER
    for member in (AMINA, KWAME, SIPHO):
        assert any("Question 1 of 3" in t for t in fake.texts_to(member))
    assert fake.sent_to(THANDI) == fake.sent_to(NIA) == []
    # Thandi presses Start, Nia opens the deep link: each gets the welcome, then the
    # question the others were asked, once.
    await story.say(THANDI, "/start")
    await story.say(NIA, f"/start {code}")
    for member in (THANDI, NIA):
        texts = fake.texts_to(member)
        assert "Welcome to" in texts[0]
        assert sum("Question 1 of 3" in t for t in texts) == 1
    # Everyone answers the first question at length, with emoji.
    for member, answer in ANSWERS.items():
        await story.say(member, answer)
        assert "Question 2 of 3" in fake.texts_to(member)[-1]
    async with story.h.indaba.sessions() as session:
        stored = set((await session.scalars(select(Reply.text))).all())
    assert stored == {answer.strip() for answer in ANSWERS.values()}

    await story.say(FATIMA, "/agenda close", SUPER)
    await story.advance(days=6)  # Thursday 19th: the brief
    await story.advance(days=2)  # Saturday 21st: after the meeting
    await story.say(FATIMA, "/harvest", SUPER)

    async with story.h.indaba.sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert not [r.idempotency_key for r in rows if r.status == OutboxStatus.DEAD]
    to_fatima = fake.texts_to(FATIMA)
    mine = [r for r in rows if r.conversation_id == str(FATIMA)]
    [brief] = [r for r in mine if r.idempotency_key.startswith("brief:")]
    [harvest] = [r for r in mine if r.text.startswith("# Harvest: November meeting")]
    for answer in ANSWERS.values():
        assert answer.strip() in brief.text and answer.strip() in harvest.text
    for row in (brief, harvest):
        parts = render_html(row.text)
        assert len(parts) > 1  # Telegram's limit split it
        start = to_fatima.index(parts[0])
        assert to_fatima[start : start + len(parts)] == parts  # whole and in order
    # Nothing went to the old group's id after the move, and nothing died there.
    assert all(int(c["chat_id"]) != BASIC for c in fake.called("sendMessage", ok=None)[to_basic:])
    nudges = [t for t in fake.texts_to(BASIC) + fake.texts_to(SUPER) if "cannot write" in t]
    assert len(nudges) <= 2  # at most one a day
    assert not fake.webhook_failures
