"""Members named in a command's text: ``@Amina``, ``@amina_k``, a platform's own
mention markup (``<@U123>``, ``<@U123|amina>``), matched within one community."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Member

# "@name" up to the next space, or "<@ID>" / "<@ID|name>".
MENTION = re.compile(r"<@([^>|\s]+)(?:\|[^>]*)?>|@([^\s@,;:]+)")


@dataclass(frozen=True, slots=True)
class Named:
    """What a text named: the members found, the words not matching anyone, the rest."""

    members: list[Member]
    unknown: list[str]
    rest: str


def _fold(text: str) -> str:
    """Lower case, no accents, no spaces or punctuation: "Amina Yusuf" → "aminayusuf"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


async def find_named(
    session: AsyncSession, community_id: int, platform: str, text: str, *, first_only: bool = False
) -> Named:
    """The members ``text`` mentions (each once, in order), and ``text`` without them.

    A mention matches a platform user id, a whole display name, or the first word of
    one when only one member has it. With ``first_only``, only a leading mention counts.
    """
    members = (
        await session.scalars(
            select(Member).where(Member.community_id == community_id, Member.role != "former")
        )
    ).all()
    identities = (
        await session.execute(
            select(Identity.user_id, Identity.member_id).where(
                Identity.community_id == community_id, Identity.platform == platform
            )
        )
    ).all()
    by_id = {m.id: m for m in members}
    by_user = {user_id: by_id[mid] for user_id, mid in identities if mid in by_id}
    found: list[Member] = []
    unknown: list[str] = []
    rest = text
    for match in MENTION.finditer(text):
        if first_only and text[: match.start()].strip():
            break
        token = match.group(1) or match.group(2)
        member = by_user.get(token) or _by_name(members, token)
        if member is None:
            unknown.append(match.group(0))
        elif member not in found:
            found.append(member)
        rest = rest.replace(match.group(0), " ", 1)
        if first_only:
            break
    return Named(found, unknown, " ".join(rest.split()))


def _by_name(members: Sequence[Member], token: str) -> Member | None:
    wanted = _fold(token)
    if not wanted:
        return None
    whole = [m for m in members if _fold(m.display_name) == wanted]
    if len(whole) == 1:
        return whole[0]
    first = [
        m for m in members if m.display_name.split() and _fold(m.display_name.split()[0]) == wanted
    ]
    return first[0] if len(first) == 1 else None
