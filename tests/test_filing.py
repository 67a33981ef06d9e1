"""What a member types is kept only when it answers what they are asked, and /undo."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.app.cli import app
from bot.engine.services.filing import Verdict, classify
from bot.messages import MessageEdited, Sender
from storage.models import Filing, Member, Practice, PracticeAsk, Prompt, Reply, WallEntry
from storage.statuses import PromptStatus
from tests.harness import Harness, to
from tests.test_console_scenario import ROOT, run_console, sent_to

SCENARIO = ROOT / "tests" / "scenarios" / "filing.txt"


async def questions_out(h: Harness, members: tuple[str, ...] = ("amina",)) -> None:
    await h.setup_community(members=members)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    sent = await h.advance(days=11, hours=3)
    assert any("Question 1 of 3" in text for text in to(sent, "amina"))


async def count(h: Harness, model: type) -> int:
    async with h.indaba.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def replies(h: Harness) -> list[str]:
    async with h.indaba.sessions() as session:
        return list((await session.scalars(select(Reply.text).order_by(Reply.id))).all())


def test_what_a_text_is() -> None:
    assert classify("/") is Verdict.COMMAND
    assert classify("/ 2") is Verdict.COMMAND
    for skip in ("-", "skip", "Passer", "pular", "ruka"):
        assert classify(skip) is Verdict.SKIP, skip
    for chatter in ("hello?", "Is this still on?", "Bonjour", "habari", "olá", "👍", "ok"):
        assert classify(chatter) is Verdict.CHATTER, chatter
    for answer in ("Open contracting", "42", "Funding for the data desk, mostly from donors"):
        assert classify(answer) is Verdict.KEEP, answer
    # The weekly question a member posts is a question: its question mark is no sign.
    assert classify("Who has used the procurement API?", question=True) is Verdict.KEEP
    assert classify("hello?", question=True) is Verdict.CHATTER


async def test_an_answer_is_said_back_and_undone(harness: Harness) -> None:
    h = harness
    await questions_out(h)
    sent = to(await h.say("amina", "Our budget portal went live"), "amina")
    assert sent[0] == "Saved as your answer to question 1 of 3 — /undo takes it back."
    assert "Question 2 of 3" in sent[1]
    undone = to(await h.say("amina", "/undo"), "amina")
    assert "Taken back: your answer to question 1 of 3" in undone[0]
    assert "Question 1 of 3" in undone[1]
    assert await replies(h) == []
    # The re-opened question takes the next text; question 2 is still open after it.
    sent = to(await h.say("amina", "Our procurement portal went live"), "amina")
    assert sent == ["Saved as your answer to question 1 of 3 — /undo takes it back."]
    sent = to(await h.say("amina", "Procurement data"), "amina")
    assert sent[0] == "Saved as your answer to question 2 of 3 — /undo takes it back."
    assert await replies(h) == ["Our procurement portal went live", "Procurement data"]
    await h.say("amina", "/undo")
    assert to(await h.say("amina", "/undo"), "amina") == ["There is nothing to take back."]


async def test_nothing_is_filed_after_stop(harness: Harness) -> None:
    h = harness
    await questions_out(h)
    await h.say("amina", "/stop")
    sent = to(await h.say("amina", "Is this still on?"), "amina")
    assert sent == [
        "You have stopped Indaba (/stop), so I did not keep that. Type /start to come back."
    ]
    assert await replies(h) == []
    assert not any("Question 2" in text for text in sent)


async def test_a_lone_slash_or_an_unknown_command_is_not_an_answer(harness: Harness) -> None:
    h = harness
    await questions_out(h)
    sent = to(await h.say("amina", "/"), "amina")
    assert sent == ["I did not keep that: it is not a command I know. Type /help to see them."]
    sent = to(await h.say("amina", "/answr 1 yes"), "amina")
    assert "I don't know /answr" in sent[0]
    assert await replies(h) == []
    async with h.indaba.sessions() as session:
        statuses = (await session.scalars(select(Prompt.status))).all()
    assert PromptStatus.ANSWERED not in statuses


async def test_a_skip_word_is_not_an_answer_nor_a_practice(harness: Harness) -> None:
    h = harness
    await questions_out(h)
    sent = to(await h.say("amina", "-"), "amina")
    assert sent == [
        "Nothing saved. Question 1 of 3 is still open: reply with your answer when you are ready."
    ]
    assert await replies(h) == []
    refused = to(await h.say("amina", "/practice skip", "#cop"), "amina")
    assert "Use /practice TEXT" in refused[0]
    # After the meeting, the take-away question: "-" is not practice #1.
    await h.advance(days=7, hours=8)
    sent = to(await h.say("amina", "-"), "amina")
    assert sent[0].startswith("Nothing saved. The take-away question is still open")
    assert await count(h, Practice) == 0


async def test_hello_after_a_restart_is_asked_about_not_kept(
    database_url: str, tmp_path: Path
) -> None:
    h = await Harness.create(database_url, tmp_path)
    try:
        await questions_out(h)
        for n in range(5):
            await h.say("fatima", f"/practice Practice number {n + 1}", "#cop")
        await h.advance(days=7, hours=8)
        async with h.indaba.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(PracticeAsk)) == 2
    finally:
        await h.aclose()
    # A new process on the same database: the take-away question is still open.
    h = await Harness.create(database_url, tmp_path, start=h.clock.now())
    # Message ids the first process did not use (a re-delivery would be dropped).
    h._ids = itertools.count(1000)
    try:
        sent = to(await h.say("amina", "hello?"), "amina")
        assert sent[0].startswith("Is this the practice you take away from November meeting?")
        assert "> hello?" in sent[0]
        assert await count(h, Practice) == 5
        no = to(await h.say("amina", "2"), "amina")
        assert no[0].startswith("Not saved. The take-away question is still open")
        # The settled question no longer takes numbers; a real answer is kept.
        sent = to(await h.say("amina", "Start each meeting with a round of wins"), "amina")
        assert sent == ["Thank you! Saved as practice #6 — /undo takes it back."]
        undone = to(await h.say("amina", "/undo"), "amina")
        assert undone[0].startswith("Taken back: practice #6 is gone.")
        assert await count(h, Practice) == 5
        # Asked about again, and this time confirmed: the text waited in the database.
        await h.say("amina", "Thanks!")
    finally:
        await h.aclose()
    h = await Harness.create(database_url, tmp_path, start=h.clock.now())
    h._ids = itertools.count(2000)
    try:
        yes = to(await h.say("amina", "1"), "amina")
        assert len(yes) == 1 and yes[0].startswith("Thank you! Saved as practice #")
        async with h.indaba.sessions() as session:
            texts = (await session.scalars(select(Practice.text).order_by(Practice.id))).all()
        assert texts[-1] == "Thanks!" and len(texts) == 6
    finally:
        await h.aclose()


async def test_a_greeting_while_a_question_is_open_is_confirmed(harness: Harness) -> None:
    h = harness
    await questions_out(h)
    sent = to(await h.say("amina", "hello?"), "amina")
    assert sent[0].startswith("Is this your answer to question 1 of 3?")
    assert await replies(h) == []
    yes = to(await h.say("amina", "1"), "amina")
    assert yes[0] == "Saved as your answer to question 1 of 3 — /undo takes it back."
    assert "Question 2 of 3" in yes[1]
    assert await replies(h) == ["hello?"]
    # A second tap on the same confirmation keeps nothing twice.
    assert "Please answer" in to(await h.say("amina", "1"), "amina")[0] or await replies(h) == [
        "hello?"
    ]
    assert await replies(h) == ["hello?"]


async def test_the_wall_keeps_its_skip_words_and_undo_restores_a_line(harness: Harness) -> None:
    h = harness
    await h.setup_community(members=("amina",))
    sent = to(await h.say("amina", "Open contracting"), "amina")
    assert sent[0].startswith("Saved on the wall as what you are passionate about — /undo")
    assert "**2 of 3.**" in sent[0]
    sent = to(await h.say("amina", "passer"), "amina")
    assert sent[0].startswith("**3 of 3.**")
    await h.say("amina", "Funding")
    undone = to(await h.say("amina", "/undo"), "amina")
    assert undone[0].startswith("Taken back: your wall line is as it was.")
    assert "**3 of 3.**" in undone[0]
    async with h.indaba.sessions() as session:
        entry = await session.scalar(
            select(WallEntry)
            .join(Member, Member.id == WallEntry.member_id)
            .where(Member.display_name == "Amina")
        )
        assert entry is not None and entry.needs is None and entry.contributes is None
        assert entry.passions == "Open contracting"
    refused = to(await h.say("amina", "/wall me needs -", "#cop"), "amina")
    assert "/wall" in refused[0]
    assert await count(h, Filing) == 0


def test_junk_is_held_back_and_moderated_in_the_console(tmp_path: Path, database_url: str) -> None:
    out = run_console(tmp_path, database_url, SCENARIO)
    sent = sent_to(out, "DM @amina")
    first = next(i for i, m in enumerate(sent) if "Saved as your answer to question 1" in m)
    amina = [m.strip() for m in sent[first - 2 :]]
    assert amina[2] == "Saved as your answer to question 1 of 3 — /undo takes it back."
    # A lone "/", a skip word and a greeting declined are not kept.
    assert amina[4].startswith("I did not keep that: it is not a command I know.")
    assert amina[5].startswith("Nothing saved. Question 2 of 3 is still open")
    assert amina[6].startswith("Is this your answer to question 2 of 3?")
    assert amina[7].startswith("Not saved. Question 2 of 3 is still open")
    assert amina[10].startswith("Taken back: your answer to question 2 of 3.")
    assert "Question 2 of 3" in amina[11]
    assert any("All your answers for March meeting are in" in m for m in amina)
    kwame = [m.strip() for m in sent_to(out, "DM @kwame")]
    assert any(m.startswith("Is this your answer to question 1 of 3?") for m in kwame)
    thandi = [m.strip() for m in sent_to(out, "DM @thandi")]
    assert thandi[-1].startswith("You have stopped Indaba (/stop), so I did not keep that.")
    fatima = [m.strip() for m in sent_to(out, "DM @fatima")]
    assert any("#1 Kwame: Is this still on?" in m for m in fatima)
    assert any(m.startswith("Hidden: practice #1.") for m in fatima)
    [brief] = [m for m in fatima if "BRIEF: MARCH MEETING" in m]
    assert "Our budget portal went live in February" in brief
    assert "We cannot get contract data from the ministry" in brief
    assert "We cannot get procurement data" not in brief
    assert "Is this still on?" not in brief and "hello?" not in brief
    assert "• Amina: -" not in brief and "• Amina: /" not in brief
    # The same database, from the command line: the audit log of the facilitator's work.
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INDABA_")}
    result = CliRunner().invoke(
        app,
        ["audit", "--community", "Lagos Civic Tech"],
        env={**unset, "INDABA_DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[2:] for line in lines] == [
        ["Fatima", "hide", "practice #1", "by Amina"],
        ["Fatima", "hide", "answer #1", "by Kwame"],
    ]


async def test_answer_n_keeps_no_junk_and_undo_restores_the_answer_before(
    harness: Harness,
) -> None:
    h = harness
    await questions_out(h)
    refused = to(await h.say("amina", "/answer 2 -"), "amina")
    assert refused[0].startswith("Use /answer N TEXT")
    saved = to(await h.say("amina", "/answer 2 Procurement data"), "amina")
    assert saved == ["Saved as your answer to question 2 of 3 — /undo takes it back."]
    changed = to(await h.say("amina", "/answer 2 Contract data"), "amina")
    assert changed == ["Your answer to question 2 of 3 is updated — /undo takes it back."]
    undone = to(await h.say("amina", "/undo"), "amina")
    assert undone == ["Taken back: your answer to question 2 of 3 is as it was."]
    assert await replies(h) == ["Procurement data"]


async def test_an_answer_edited_into_a_skip_word_keeps_what_it_said(harness: Harness) -> None:
    h = harness
    await questions_out(h)
    await h.say("amina", "Our budget portal went live")
    # The harness numbered that message; the next number shows which it was.
    message_id = f"in{next(h._ids) - 1}"
    conversation = h.conversation("dm", "amina")
    sender = Sender(h.adapter.name, "amina", "Amina")
    for text in ("-", "/", "Our budget portal went live in March"):
        await h.adapter.push(MessageEdited(conversation, sender, message_id, text=text))
        await h.settle()
        if text != "Our budget portal went live in March":
            assert await replies(h) == ["Our budget portal went live"]
    assert await replies(h) == ["Our budget portal went live in March"]
