"""The meeting pack's weight: page sizes (raw and as sent, gzipped), build times and the
poster's render time, for a community told through the harness like a real month.

    python benchmarks/pack_pages.py                  # 40 members, 3 questions, 6 meetings
    python benchmarks/pack_pages.py --members 120 --answer-chars 600

The pages must stay under 100 KB on a slow phone network: the figure that matters is
the gzipped one, printed beside the raw size.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bot.app.web.routes import Pack  # noqa: E402
from bot.engine.services.links import Grant, Page, Scope  # noqa: E402
from storage.models import Community, Meeting  # noqa: E402
from tests.harness import Harness  # noqa: E402

WORDS = [
    *("borehole", "water", "point", "committee", "district", "map", "survey", "budget"),
    *("training", "sensor", "rain", "village", "data", "maintenance", "women", "youth"),
    *("pump", "report", "funding", "school", "clinic"),
]


def answer(member: int, question: int, chars: int) -> str:
    words = [WORDS[(member * 7 + question * 3 + i) % len(WORDS)] for i in range(chars // 6)]
    return f"Member {member} on question {question}: " + " ".join(words)[:chars]


async def tell(h: Harness, members: int, meetings: int, chars: int) -> None:
    names = tuple(f"member{i}" for i in range(members))
    await h.setup_community(members=names)
    for i, name in enumerate(names[: members // 2]):
        await h.say(name, f"/wall me passions {answer(i, 0, 80)}")
        await h.say(name, f"/wall me needs {answer(i, 1, 60)}")
    for n in range(meetings):
        await h.say("fatima", f"/meeting add 2027-{n + 1:02d}-20 14:00 Meeting {n + 1}", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    for i, name in enumerate(names[:12]):
        await h.say(name, f"/agenda add Item {i}: {answer(i, 9, 60)}", "#cop")
    await h.say("fatima", "/agenda open", "#cop")
    for i, name in enumerate(names):
        await h.say(name, f"/agenda vote {i % 12 + 1} {(i * 5) % 12 + 1}", "#cop")
    await h.say("fatima", "/agenda close", "#cop")
    # To the first meeting's questions (a week before it), then everyone answers all three.
    now = h.clock.now()
    async with h.indaba.sessions() as session:
        first = await session.scalar(select(Meeting).order_by(Meeting.starts_at))
        assert first is not None
    await h.advance(seconds=(first.starts_at - now).total_seconds() - 6 * 86400)
    for question in range(3):
        for i, name in enumerate(names):
            await h.say(name, answer(i, question, chars))
    for i, name in enumerate(names[:10]):
        await h.say(name, f"/practice {answer(i, 5, 120)}", "#cop")


async def main(members: int, meetings: int, chars: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        h = await Harness.create(f"sqlite+aiosqlite:///{tmp / 'pack.db'}", tmp)
        try:
            started = time.perf_counter()
            await tell(h, members, meetings, chars)
            print(
                f"told: {members} members, {meetings} meetings, {chars}-character answers "
                f"({time.perf_counter() - started:.1f} s)"
            )
            async with h.indaba.sessions() as session:
                community = await session.scalar(select(Community))
                meeting = await session.scalar(select(Meeting).order_by(Meeting.starts_at))
                assert community is not None and meeting is not None
            links = h.indaba.links
            pack = Pack(h.indaba.sessions, h.indaba.texts, h.clock, links, ROOT / "prompts" / "web")
            expires = links.expiry(h.clock.now())
            print(f"{'page':10} {'raw':>9} {'gzipped':>9} {'built in':>9}")
            for page, grant in (
                (Page.WALL, Grant(Scope.COMMUNITY, community.id, expires)),
                (Page.JOURNEY, Grant(Scope.COMMUNITY, community.id, expires)),
                (Page.AGENDA, Grant(Scope.MEETING, meeting.id, expires)),
                (Page.HARVEST, Grant(Scope.MEETING, meeting.id, expires)),
            ):
                began = time.perf_counter()
                html = (await pack.page(grant, page, links.token(grant))).encode()
                took = time.perf_counter() - began
                packed = len(gzip.compress(html)) / 1024
                print(
                    f"{page.value:10} {len(html) / 1024:7.1f} KB {packed:6.1f} KB"
                    f" {took * 1000:6.0f} ms"
                )
            for png in (False, True):
                began = time.perf_counter()
                data, name = await pack.poster(meeting.id, png=png)
                print(f"{name:18} {len(data) / 1024:7.1f} KB {time.perf_counter() - began:6.2f} s")
        finally:
            await h.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--meetings", type=int, default=6)
    parser.add_argument("--answer-chars", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.meetings, args.answer_chars))
