"""Safe onboarding: communities, one-time facilitator codes, join codes, account links.

Only a SHA-256 of each code is stored. Setup and link codes work once; join codes
work until they expire or a facilitator replaces them (and at most ``max_uses`` times).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter import ControlError
from bot.engine.services import directory, meetings
from storage.models import CodeAttempt, Community, InviteCode, Meeting, OutboxMessage, TimetableRun
from storage.statuses import OutboxStatus

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


class CodeKind(StrEnum):
    SETUP = "setup"
    JOIN = "join"
    LINK = "link"


class OnboardingError(ControlError):
    """A code or a community request that cannot be honoured; ``key`` names the text."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True, slots=True)
class Redeemed:
    community: Community
    code: InviteCode


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise OnboardingError("error.timezone") from None
    return name


async def create_community(
    session: AsyncSession, name: str, timezone: str, language: str, now: datetime
) -> Community:
    name = name.strip()
    if not name:
        raise OnboardingError("error.community_name")
    check_timezone(timezone)
    if await session.scalar(select(Community).where(Community.name == name)) is not None:
        raise OnboardingError("error.community_exists")
    community = Community(
        name=name, timezone=timezone, language=language, settings={}, created_at=now
    )
    session.add(community)
    await session.flush()
    return community


async def find_community(session: AsyncSession, name_or_id: str) -> Community | None:
    if name_or_id.isdigit():
        found = await session.get(Community, int(name_or_id))
        if found is not None:
            return found
    return await session.scalar(select(Community).where(Community.name == name_or_id))


async def issue_code(
    session: AsyncSession,
    community: Community,
    kind: CodeKind,
    now: datetime,
    valid_for: timedelta,
    *,
    member_id: int | None = None,
    max_uses: int | None = None,
    replace: bool = False,
) -> str:
    """Create a code and return it in clear (the only time it is seen)."""
    if replace:
        await session.execute(
            update(InviteCode)
            .where(
                InviteCode.community_id == community.id,
                InviteCode.kind == kind.value,
                InviteCode.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
    code = new_code()
    session.add(
        InviteCode(
            community_id=community.id,
            code_hash=hash_code(code),
            kind=kind.value,
            member_id=member_id,
            expires_at=now + valid_for,
            max_uses=1 if kind in (CodeKind.SETUP, CodeKind.LINK) else max_uses,
            uses=0,
            created_at=now,
        )
    )
    await session.flush()
    return code


# Wrong codes one sender may try in a window before being asked to wait (guessing a
# code by trying many is then hopeless: codes have 40 bits or more).
WRONG_CODES_ALLOWED = 5
WRONG_CODES_WINDOW = timedelta(minutes=10)


async def redeem(
    session: AsyncSession,
    code: str,
    kind: CodeKind,
    now: datetime,
    *,
    platform: str = "",
    user_id: str = "",
) -> Redeemed:
    """Use a code once; raise :class:`OnboardingError` naming why it cannot be used.

    A sender (``platform``, ``user_id``) who typed ``WRONG_CODES_ALLOWED`` unknown codes
    in the last ``WRONG_CODES_WINDOW`` is refused without the code being looked at. The
    attempts are kept in the database, so a restart or another replica changes nothing.
    """
    if not normalise_code(code):
        raise OnboardingError(f"error.{kind.value}_usage")
    if user_id:
        recent = await session.scalar(
            select(func.count(CodeAttempt.id)).where(
                CodeAttempt.platform == platform,
                CodeAttempt.user_id == user_id,
                CodeAttempt.failed_at > now - WRONG_CODES_WINDOW,
            )
        )
        if (recent or 0) >= WRONG_CODES_ALLOWED:
            raise OnboardingError("error.code_too_many")
    row = await session.scalar(
        select(InviteCode).where(InviteCode.code_hash == hash_code(code)).with_for_update()
    )
    if row is None or row.kind != kind.value:
        if user_id:
            session.add(CodeAttempt(platform=platform, user_id=user_id, failed_at=now))
        raise OnboardingError("error.code_unknown")
    if row.revoked_at is not None:
        raise OnboardingError("error.code_revoked")
    if row.expires_at <= now:
        raise OnboardingError("error.code_expired")
    if row.max_uses is not None and row.uses >= row.max_uses:
        raise OnboardingError("error.code_used")
    row.uses += 1
    community = await session.get(Community, row.community_id)
    assert community is not None
    return Redeemed(community, row)


# -- members who come late ----------------------------------------------------------------


async def still_asking(session: AsyncSession, community_id: int, now: datetime) -> Meeting | None:
    """The next meeting whose questions went out to the members and whose brief has not:
    a member who can be reached only now is asked its questions, never once the brief
    is out (their answers would reach no one)."""
    meeting = await meetings.next_meeting(session, community_id, now)
    if meeting is None:
        return None
    out = await session.scalar(
        select(TimetableRun.id).where(TimetableRun.key == f"questions:{meeting.id}")
    )
    if out is None or await directory.brief_sent(session, meeting.id):
        return None
    return meeting


# A message with one of these statuses reached the member or is on its way to them.
_HAD = (OutboxStatus.SENT, OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)


async def had(session: AsyncSession, key: str, *, sent_only: bool = False) -> bool:
    """Whether the message keyed ``key`` (or a copy of it, ``key:...``) reached its
    member or is on its way (``sent_only``: reached them)."""
    statuses = (OutboxStatus.SENT,) if sent_only else _HAD
    found = await session.scalar(
        select(OutboxMessage.id)
        .where(
            (OutboxMessage.idempotency_key == key)
            | OutboxMessage.idempotency_key.startswith(key + ":", autoescape=True),
            OutboxMessage.status.in_(statuses),
        )
        .limit(1)
    )
    return found is not None
