"""What a member's free text is, before it is kept: an answer, or junk to hold back.

A text is kept only when it answers what the member is being asked. Before that it
is read here: something that looks like a command (a lone ``/``), a skip word (the
wall's "-" or "skip", in every language), or a short greeting or question back to
the bot ("hello?", "Is this still on?"), which the member is asked to confirm.

Skip words and greetings are data, one file per language under
``prompts/<language>/skipwords`` and ``prompts/<language>/greetings``, like the stop
words, and every language's words count whatever the member's language.

What a text was last kept as is stored (:class:`~storage.models.Filing`), so ``/undo``
takes it back after a restart too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.services import text_model
from bot.engine.services.text_model import fold
from storage.models import Filing, Member
from storage.statuses import ItemKind

# Longer than this, a text is taken as meant, even with a question mark.
CHATTER_WORDS = 8
# A word: letters only, as the text model reads them.
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


class Verdict(StrEnum):
    KEEP = "keep"
    COMMAND = "command"  # starts with "/" but names no command ("/", "/ 2")
    SKIP = "skip"  # a skip word
    CHATTER = "chatter"  # a greeting or a short question back: ask first


@dataclass(frozen=True, slots=True)
class Words:
    skip: frozenset[str]
    greetings: frozenset[str]
    # Every language's stop words: a text of only these and greetings carries nothing.
    empty: frozenset[str]


def _read(path: Path) -> set[str]:
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        words.update(fold(word) for word in line.split("#", 1)[0].split())
    return words


@cache
def words(prompts_dir: Path = text_model.PROMPTS_DIR) -> Words:
    """Every language's skip words and greetings, folded (lower case, no accents)."""
    skip: set[str] = set()
    greetings: set[str] = set()
    for path in sorted(prompts_dir.glob("*/skipwords")):
        skip |= _read(path)
    for path in sorted(prompts_dir.glob("*/greetings")):
        greetings |= _read(path)
    stop = set().union(*text_model.default().stop_words.values())
    return Words(frozenset(skip), frozenset(greetings), frozenset(greetings | stop))


def is_skip(text: str) -> bool:
    return fold(text.strip()) in words().skip


def classify(text: str, *, question: bool = False) -> Verdict:
    """What ``text`` is, read on its own (the caller knows what is being asked).

    ``question`` when a question is what is asked for (the weekly question a member
    posts): a question mark then says nothing about the text.
    """
    stripped = text.strip()
    if stripped.startswith("/"):
        return Verdict.COMMAND
    if is_skip(stripped):
        return Verdict.SKIP
    tokens = WORD.findall(stripped)
    if not tokens:
        # Only punctuation or emoji ("?", "👍"); a number is an answer.
        return Verdict.KEEP if any(c.isdigit() for c in stripped) else Verdict.CHATTER
    if len(tokens) > CHATTER_WORDS:
        return Verdict.KEEP
    if stripped.endswith("?") and not question:
        return Verdict.CHATTER
    empty = words().empty
    if all(fold(token) in empty for token in tokens):
        return Verdict.CHATTER
    return Verdict.KEEP


# -- what was kept, for /undo ------------------------------------------------------------


async def record(
    session: AsyncSession,
    member: Member,
    kind: ItemKind,
    item_id: int,
    now: datetime,
    *,
    field: str | None = None,
    previous: str | None = None,
) -> None:
    """Remember what the member's text was kept as (only the last one can be undone).

    One statement: the member's row is written over, or written when they have none.
    """
    inserter = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"kind": kind, "item_id": item_id, "field": field, "previous": previous}
    await session.execute(
        inserter(Filing)
        .values(member_id=member.id, filed_at=now, **values)
        .on_conflict_do_update(index_elements=["member_id"], set_={**values, "filed_at": now})
    )


async def last(session: AsyncSession, member: Member) -> Filing | None:
    return await session.scalar(select(Filing).where(Filing.member_id == member.id))


async def forget(session: AsyncSession, kind: ItemKind, item_id: int) -> None:
    """An item removed for good can no longer be undone."""
    await session.execute(delete(Filing).where(Filing.kind == kind, Filing.item_id == item_id))
