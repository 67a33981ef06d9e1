"""``indaba harvest export``: a meeting's harvest written as Markdown, CSV and JSON."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Meeting
from tests.harness import Harness
from tests.test_cli import db_env, indaba


def export_in(
    cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str]
) -> tuple[int, str]:
    """``indaba harvest export`` run from ``cwd``, where the default file name lands."""
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        result = indaba("harvest", "export", *args, env=env)
    return result.returncode, result.stdout


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def _prepare(database_url: str, tmp_path: Path) -> int:
    """A meeting with answers, a ranked agenda and an upvoted practice; returns its id."""
    h = await Harness.create(database_url, tmp_path)
    try:
        await h.setup_community(members=("amina", "kwame", "thandi"))
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
        await h.say("fatima", "/agenda open", "#cop")
        await h.say("amina", "/agenda add Open data", "#cop")
        await h.say("kwame", "/agenda add Budgets", "#cop")
        await h.say("fatima", "/agenda open", "#cop")
        await h.say("amina", "/agenda vote 2", "#cop")
        await h.say("kwame", "/agenda vote 2", "#cop")
        await h.say("fatima", "/agenda close", "#cop")
        await h.advance(days=11, hours=3)
        await h.say("amina", "Portal launched")
        await h.say("kwame", "/practice Weekly office hours", "#cop")
        await h.say("amina", "/practice vote 1", "#cop")
        async with h.indaba.sessions() as session:
            meeting = await session.scalar(select(Meeting))
            assert meeting is not None
            return meeting.id
    finally:
        await h.aclose()


def test_export_in_three_formats(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    meeting_id = asyncio.run(_prepare(database_url, tmp_path))

    code, stdout = export_in(
        tmp_path, monkeypatch, "--meeting", str(meeting_id), "--format", "md", env=env
    )
    assert code == 0
    assert stdout.strip() == f"harvest of meeting {meeting_id} written to harvest-{meeting_id}.md"
    markdown = read(tmp_path / f"harvest-{meeting_id}.md")
    assert markdown.startswith("# Harvest: November meeting\n")
    assert "\n## Pre-meeting answers\n" in markdown and "\n## Attendees\n" in markdown
    assert "- Amina: Portal launched" in markdown
    assert "- 1. Budgets · 2 votes" in markdown and "- 2. Open data · 0 votes" in markdown
    assert "- Weekly office hours · Kwame · 1 vote" in markdown
    # Amina answered one question of three: not a complete answer.
    assert "- Asked: 3" in markdown and "- Answered every question: 0" in markdown
    assert "- Answered some: 1" in markdown and "Response rate: 0%" in markdown

    out_csv = tmp_path / "h.csv"
    result = indaba(
        "harvest", "export", "--meeting", str(meeting_id), "--format", "csv",
        "--output", str(out_csv), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    # UTF-8 with a byte order mark, so that Excel reads the accents right.
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbfsection,item,member,text,figure\r\n")
    rows = list(csv.reader(io.StringIO(out_csv.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["section", "item", "member", "text", "figure"]
    assert ["agenda", "1", "", "Budgets", "2"] in rows
    assert ["agenda", "2", "", "Open data", "0"] in rows
    assert ["practice", "", "Kwame", "Weekly office hours", "1"] in rows
    assert ["participation", "asked", "", "", "3"] in rows
    assert ["participation", "answered", "", "", "0"] in rows
    assert ["participation", "partly_answered", "", "", "1"] in rows
    assert ["participation", "response_rate", "", "", "0"] in rows
    assert ["answer", "What is one thing that worked well in your work since we last met?",
            "Amina", "Portal launched", ""] in rows  # fmt: skip

    out_json = tmp_path / "h.json"
    result = indaba(
        "harvest", "export", "--meeting", str(meeting_id), "--format", "json",
        "-o", str(out_json), env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(read(out_json))
    assert data["meeting"]["id"] == meeting_id
    assert data["meeting"]["title"] == "November meeting"
    assert data["agenda"] == [
        {"rank": 1, "title": "Budgets", "votes": 2},
        {"rank": 2, "title": "Open data", "votes": 0},
    ]
    assert data["participation"]["response_rate"] == 0
    assert data["answers"][0]["answers"] == [{"member": "Amina", "text": "Portal launched"}]

    # The brief's file: every answer and who has not answered each question.
    out_brief = tmp_path / "b.csv"
    result = indaba("harvest", "brief", "--meeting", str(meeting_id), "-o", str(out_brief), env=env)
    assert result.returncode == 0, result.stderr
    assert out_brief.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(out_brief.read_text(encoding="utf-8-sig"))))
    assert ["answer", "1", "Amina", "Portal launched", ""] in rows
    assert ["completion", "", "Amina", "", "1/3"] in rows
    assert ["not_answered", "1", "Kwame", "", ""] in rows


def test_unknown_meeting_or_format_is_one_clear_line(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    result = indaba("harvest", "export", "--meeting", "999", "-o", str(tmp_path / "x"), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "indaba: no meeting with id 999 (see 'indaba meeting list')"
    ]
    assert "x" not in os.listdir(tmp_path)
    result = indaba("harvest", "brief", "--meeting", "999", "-o", str(tmp_path / "y"), env=env)
    assert result.returncode == 1 and "y" not in os.listdir(tmp_path)
    result = indaba("harvest", "export", "--meeting", "1", "--format", "pdf", env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["indaba: --format must be md, csv or json"]


async def test_reordered_questions_keep_their_answers(tmp_path: Path, database_url: str) -> None:
    """Every answer of a meeting comes from one query, ordered by the questions' places:
    after ``/questions move`` each answer is still filed under its own question, in the
    harvest's CSV and in the brief's file alike."""
    from bot.app import admin
    from bot.engine.services.brief import csv_chunks
    from storage.models import Community

    h = await Harness.create(database_url, tmp_path)
    try:
        await h.setup_community(members=("amina", "kwame"))
        await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
        # The last question asked first: the questions' ids no longer give their order.
        await h.say("fatima", "/questions move 3 1", "#cop")
        await h.advance(days=11, hours=3)
        answers = {
            "amina": [
                "Amina: the water point map went live",
                "Amina: weekly office hours with the ward",
                "Amina: procurement data is still closed",
            ],
            "kwame": ["Kwame: budget hearings in every district"],
        }
        for who, said in answers.items():
            for text in said:
                await h.say(who, text)
        async with h.indaba.sessions() as session:
            meeting = await session.scalar(select(Meeting))
            assert meeting is not None
            community = await session.get(Community, meeting.community_id)
            assert community is not None
            chunks: list[str] = []
            await admin.export_harvest(
                session, h.indaba.texts, meeting.id, admin.HarvestFormat.CSV, chunks.append
            )
            brief = [c async for c in csv_chunks(session, h.indaba.texts, community, meeting, "en")]
    finally:
        await h.aclose()
    brief_rows = list(csv.reader(io.StringIO("".join(brief).lstrip("\ufeff"))))
    questions = [row[3] for row in brief_rows if row[0] == "question"]
    assert len(questions) == 3
    in_brief = {row[3]: row[1] for row in brief_rows if row[0] == "answer"}
    assert in_brief == {
        "Amina: the water point map went live": "1",
        "Kwame: budget hearings in every district": "1",
        "Amina: weekly office hours with the ward": "2",
        "Amina: procurement data is still closed": "3",
    }
    rows = list(csv.reader(io.StringIO("".join(chunks).lstrip("\ufeff"))))
    filed: dict[str, list[str]] = {}
    for row in rows:
        if row[0] == "answer":
            filed.setdefault(row[1], []).append(row[3])
    # Each question's answers under it, the questions in their order.
    assert list(filed) == questions
    assert [sorted(said) for said in filed.values()] == [
        ["Amina: the water point map went live", "Kwame: budget hearings in every district"],
        ["Amina: weekly office hours with the ward"],
        ["Amina: procurement data is still closed"],
    ]
