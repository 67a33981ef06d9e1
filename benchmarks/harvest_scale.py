"""The brief, the harvest exports and the digest of a large meeting: time and peak memory.

Seeds one community of 10,000 members and a meeting of 11 questions with 100,000
answers (8,000 members answer all eleven, 2,000 answer six), the outbox rows that
carried the questions (some delivered, some read), in bulk inserts. Then each
operation runs in a fresh process, twice (the first run pays for the lazy imports, as
the first brief of a process does): ``indaba harvest export`` in Markdown, CSV and
JSON to a file, the brief (its text; the file is a link), the brief's file written
whole, and the digest. Each line gives both times and the process's peak RSS with the
RSS it had before the operation. Then ``indaba harvest export`` itself is run in each
format, as an operator runs it: one fresh process that imports the command line, reads
the settings, checks the schema and writes the file (wall and CPU seconds, peak RSS).

    python benchmarks/harvest_scale.py --database sqlite
    python benchmarks/harvest_scale.py --database postgresql --members 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from benchmarks.members import add_members  # noqa: E402
from benchmarks.postgres import create_schema, drop_schema  # noqa: E402
from bot.engine.services import onboarding  # noqa: E402
from bot.engine.services.links import Links  # noqa: E402
from bot.engine.services.meetings import MeetingKind, add_meeting  # noqa: E402
from bot.engine.texts import Texts  # noqa: E402
from storage.db import create_engine, session_factory  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Community,
    Meeting,
    MeetingQuestion,
    OutboxMessage,
    Prompt,
    Reply,
)
from storage.statuses import OutboxStatus, PromptStatus  # noqa: E402

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
QUESTIONS = 11
PROMPTS = ROOT / "prompts"
OPERATIONS = ("export-md", "export-csv", "export-json", "brief", "brief-file", "digest")
# The command line in a process of its own, which reports its own CPU seconds and peak
# RSS (VmHWM, from its exec on) when it exits.
COMMAND = """
import atexit, json, resource, runpy, sys

def report():
    used = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    print(json.dumps({"cpu_s": used.ru_utime + used.ru_stime, "rss_peak_mib": peak / 1024}),
          file=sys.stderr)

atexit.register(report)
sys.argv = ["indaba", *sys.argv[1:]]
runpy.run_module("bot.app.cli", run_name="__main__")
"""

# Answers made of a few subjects a CoP talks about, so the themes have something to find.
SUBJECTS = [
    ("mapped", "water points", "boreholes", "the district"),
    ("published", "budget data", "the county portal", "open formats"),
    ("trained", "clerks", "procurement records", "the new system"),
    ("surveyed", "health facilities", "clinics", "two provinces"),
    ("cleaned", "election results", "polling stations", "the archive"),
    ("visualised", "school enrolment", "dashboards", "the ministry"),
]
OUTCOMES = [
    "and the community now uses it every week",
    "but the data still needs checking by hand",
    "and three councils asked for the same",
    "which took longer than planned because of the network",
    "and we are looking for help with the maintenance",
]


def _status(field: str) -> float:
    """A memory figure of this process from /proc (kB there), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mib() -> float:
    """The peak RSS of this process since it started (VmHWM: getrusage's ru_maxrss
    would carry the parent's peak over fork and exec)."""
    return _status("VmHWM")


def current_rss_mib() -> float:
    return _status("VmRSS")


def answer(rng: random.Random, member: int, number: int) -> str:
    verb, subject, where, place = rng.choice(SUBJECTS)
    return (
        f"Since last month we {verb} {subject} with {where} in {place} "
        f"({member % 97} sites), {rng.choice(OUTCOMES)}; question {number} made us "
        f"think about {rng.choice(SUBJECTS)[1]} too."
    )


async def _bulk(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        await session.execute(insert(model), rows[start : start + 5000])


async def seed(url: str, members: int) -> int:
    """The community, its members, one meeting's questions, prompts, answers and the
    outbox rows of the questions; returns the meeting's id."""
    engine = create_engine(url)
    rng = random.Random(7)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session, session.begin():
            community = await onboarding.create_community(
                session, "Scale CoP", "Africa/Nairobi", "en", NOW - timedelta(days=90)
            )
            ids = await add_members(
                session,
                community,
                members,
                "telegram",
                lambda i: str(10_000 + i),
                NOW - timedelta(days=60),
            )
            meeting = await add_meeting(
                session,
                community,
                NOW + timedelta(days=3),
                "March meeting",
                MeetingKind.MEETING,
                NOW - timedelta(days=30),
            )
            for position in range(1, QUESTIONS + 1):
                session.add(
                    MeetingQuestion(
                        meeting_id=meeting.id, position=position, text=f"Question {position}?"
                    )
                )
            await session.flush()
            questions = (
                await session.scalars(
                    select(MeetingQuestion.id)
                    .where(MeetingQuestion.meeting_id == meeting.id)
                    .order_by(MeetingQuestion.position)
                )
            ).all()
            asked = NOW - timedelta(days=4)
            # Four members in five answer every question, the others the first six.
            answered = {m: QUESTIONS if i % 5 else 6 for i, m in enumerate(ids)}
            await _bulk(
                session,
                Prompt,
                [
                    {
                        "meeting_id": meeting.id,
                        "question_id": q,
                        "member_id": m,
                        "status": PromptStatus.ANSWERED if k < answered[m] else PromptStatus.ASKED,
                        "asked_at": asked,
                        "created_at": asked,
                    }
                    for m in ids
                    for k, q in enumerate(questions)
                ],
            )
            prompts = (
                await session.execute(
                    select(Prompt.id, Prompt.member_id, Prompt.question_id, Prompt.status)
                    .where(Prompt.meeting_id == meeting.id)
                    .order_by(Prompt.id)
                )
            ).all()
            number = {q: k + 1 for k, q in enumerate(questions)}
            rows, outbox = [], []
            for i, (prompt, member, question, status) in enumerate(prompts):
                if status == PromptStatus.ANSWERED:
                    rows.append(
                        {
                            "prompt_id": prompt,
                            "member_id": member,
                            "platform": "telegram",
                            "text": answer(rng, member, number[question]),
                            "received_at": asked + timedelta(seconds=i),
                        }
                    )
                outbox.append(
                    {
                        "idempotency_key": f"prompt:{prompt}",
                        "community_id": community.id,
                        "member_id": member,
                        "platform": "telegram",
                        "conversation_kind": "dm",
                        "conversation_id": str(member),
                        "text": "",
                        "choices": [],
                        "options": {},
                        "context": {},
                        "status": OutboxStatus.SENT,
                        "attempts": 1,
                        "next_attempt_at": asked,
                        "created_at": asked,
                        "sent_at": asked,
                        "delivered_at": asked if member % 3 else None,
                        "read_at": asked if member % 3 == 1 else None,
                    }
                )
            await _bulk(session, Reply, rows)
            await _bulk(session, OutboxMessage, outbox)
            meeting_id = meeting.id
        if engine.dialect.name == "postgresql":
            # The planner's statistics, as autovacuum would gather them after a bulk load.
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
        return meeting_id
    finally:
        await engine.dispose()


class Sink:
    """Counts what an export writes, as a file would receive it."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", encoding="utf-8", newline="")
        self.chars = 0

    def write(self, chunk: str) -> None:
        self.chars += len(chunk)
        self.file.write(chunk)


async def operate(url: str, meeting_id: int, operation: str, out: Path) -> dict[str, Any]:
    """One operation twice in this process: seconds of each run (and the second's CPU
    seconds in this process, which on SQLite include the database's work), sizes, peak
    RSS."""
    from bot.app import admin
    from bot.engine.services.brief import brief_message, csv_chunks
    from bot.engine.services.digest import build_digest, render_digest

    texts = Texts(PROMPTS)
    links = Links("bench-secret", "https://cop.example.org")
    engine = create_engine(url)
    sessions = session_factory(engine)
    result: dict[str, Any] = {"operation": operation, "rss_before_mib": round(rss_mib(), 1)}
    try:
        for run in (1, 2):
            async with sessions() as session:
                meeting = await session.get(Meeting, meeting_id)
                assert meeting is not None
                community = await session.get(Community, meeting.community_id)
                assert community is not None
                started = time.perf_counter()
                cpu = time.process_time()
                if operation.startswith("export-"):
                    sink = Sink(out)
                    fmt = admin.HarvestFormat(operation.removeprefix("export-"))
                    await admin.export_harvest(session, texts, meeting_id, fmt, sink.write)
                    sink.file.close()
                    result["chars"] = sink.chars
                elif operation == "brief":
                    found = await brief_message(
                        session, texts, community, meeting, "en", links, NOW
                    )
                    result["chars"] = len(found.text)
                    result["messages_4096"] = -(-len(found.text) // 4096)
                elif operation == "brief-file":
                    size = 0
                    with out.open("w", encoding="utf-8", newline="") as file:
                        async for chunk in csv_chunks(session, texts, community, meeting, "en"):
                            size += len(chunk)
                            file.write(chunk)
                    result["chars"] = size
                else:
                    digest = await build_digest(session, texts, community, NOW)
                    result["chars"] = len(render_digest(texts, community, digest))
                    result["answered"] = f"{digest.answered} of {digest.asked}"
                result[f"run{run}_s"] = round(time.perf_counter() - started, 3)
                result[f"run{run}_cpu_s"] = round(time.process_time() - cpu, 3)
        result["rss_peak_mib"] = round(rss_mib(), 1)
        result["rss_end_mib"] = round(current_rss_mib(), 1)
        return result
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument(
        "--seeded", metavar="URL", help="a database this script seeded before (--meeting too)"
    )
    parser.add_argument("--run", choices=(*OPERATIONS, "seed"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--meeting", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run == "seed":
        print(json.dumps({"meeting": asyncio.run(seed(args.url, args.meeting))}))
        return
    if args.run:
        found = asyncio.run(operate(args.url, args.meeting, args.run, Path(args.out)))
        print(json.dumps(found))
        return
    tmp = Path(tempfile.mkdtemp())
    schema = None
    if args.seeded:
        url, meeting_id = args.seeded, args.meeting
    elif args.database == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    else:
        url, schema = asyncio.run(create_schema())
    try:
        if not args.seeded:
            started = time.perf_counter()
            # In a process of its own, so that its memory is not counted below.
            seeded = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run",
                    "seed",
                    "--url",
                    url,
                    "--meeting",
                    str(args.members),
                    "--out",
                    str(tmp),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            meeting_id = json.loads(seeded.stdout.strip().splitlines()[-1])["meeting"]
            replies = sum(QUESTIONS if i % 5 else 6 for i in range(args.members))
            print(
                f"{args.database}: {args.members:,} members, {replies:,} answers to "
                f"{QUESTIONS} questions seeded in {time.perf_counter() - started:.1f} s "
                f"({url if args.database == 'sqlite' else 'schema ' + str(schema)})"
            )
        print(
            f"{'operation':<13}{'first s':>9}{'second s':>10}{'CPU s':>7}{'peak RSS MiB':>14}"
            f"{'RSS before':>12}  size"
        )
        for operation in OPERATIONS:
            out = tmp / f"{operation}.out"
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run",
                    operation,
                    "--url",
                    url,
                    "--meeting",
                    str(meeting_id),
                    "--out",
                    str(out),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            row = json.loads(done.stdout.strip().splitlines()[-1])
            size = ", ".join(
                f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}"
                for key, value in row.items()
                if key in ("chars", "messages_4096", "answered")
            )
            print(
                f"{operation:<13}{row['run1_s']:>9.3f}{row['run2_s']:>10.3f}"
                f"{row['run2_cpu_s']:>7.2f}{row['rss_peak_mib']:>14.1f}"
                f"{row['rss_before_mib']:>12.1f}  {size}"
            )
        print(f"{'command':<27}{'wall s':>9}{'CPU s':>7}{'peak RSS MiB':>14}  size")
        for fmt in ("md", "csv", "json"):
            out = tmp / f"command-{fmt}.out"
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    COMMAND,
                    *("harvest", "export", "--meeting", str(meeting_id), "--format", fmt),
                    *("--output", str(out)),
                ],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "INDABA_DATABASE_URL": url},
            )
            wall = time.perf_counter() - started
            row = json.loads(done.stderr.strip().splitlines()[-1])
            print(
                f"{'indaba harvest export ' + fmt:<27}{wall:>9.3f}{row['cpu_s']:>7.2f}"
                f"{row['rss_peak_mib']:>14.1f}  bytes {out.stat().st_size:,}"
            )
    finally:
        for out in tmp.glob("*.out"):
            out.unlink()
        if schema:
            asyncio.run(drop_schema(schema))


if __name__ == "__main__":
    main()
