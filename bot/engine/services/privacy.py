"""What Indaba holds about a person, handed over (``/mydata``) or erased (``/forget``).

A *person* is every membership reached from one platform account: the member's
identities in one community (``/link`` adds a platform) and the memberships of the
same accounts in other communities, followed until nothing new turns up.

Which table holds what is declared here, table by table, so a new table cannot be
left out quietly (``tests/test_privacy.py`` fails until it is classified):

- :data:`MEMBER_TABLES`: tables naming a member by a column referring to ``members``,
  with what erasure does to the rows (delete them, or keep them for the community's
  record under a fresh "A former member" with no link back);
- :data:`ACCOUNT_TABLES`: tables naming a platform account (a user id, a phone
  number, a direct chat's id) rather than a member;
- :data:`NO_PERSONAL_DATA`: tables that name nobody.

The export takes every row of a member table whose member column names the person,
generically, so a new column or table is exported without editing this module.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    MetaData,
    SQLColumnExpression,
    Table,
    and_,
    delete,
    false,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.community_settings import CommunitySettings
from bot.engine.services.questions import question_text
from bot.engine.texts import Texts
from bot.messages import Attachment, ConversationKind
from storage.models import (
    Action,
    AgendaItem,
    AgendaRound,
    AgendaVote,
    Attendance,
    AuditEntry,
    Base,
    CodeAttempt,
    Community,
    Decision,
    Filing,
    Identity,
    InboxEvent,
    Introduction,
    InviteCode,
    Meeting,
    MeetingQuestion,
    Member,
    OutboxMessage,
    Practice,
    PracticeAsk,
    PracticeVote,
    ProcessedEvent,
    Prompt,
    QuestionTurn,
    Reply,
    Space,
    TimetableRun,
    WallEntry,
)
from storage.statuses import ContextKind, InboxStatus, OutboxStatus, PromptStatus

# The role of the faceless member that keeps what a community's record needs.
FORMER_ROLE = "former"
# Handled inbound events and de-duplication keys are kept this long, then deleted.
INBOUND_DAYS = 30
# The exported file stays in the outbox row that carried it this long after sending.
EXPORT_KEPT = timedelta(days=1)
# A /forget confirmation can be pressed this long after it was asked.
CONFIRM_WITHIN = timedelta(hours=1)

WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.HELD)


class Forget(StrEnum):
    """What erasure does with a member table's rows naming the person."""

    DELETE = "delete"
    # Kept under the former member when the community's record needs it (a practice
    # others voted for, a vote that counts, a question that was asked), else deleted.
    KEEP_AS_FORMER = "keep-as-former"


MEMBER_TABLES: dict[str, Forget] = {
    "members": Forget.DELETE,
    "identities": Forget.DELETE,
    "invite_codes": Forget.DELETE,
    "replies": Forget.DELETE,
    "wall_entries": Forget.DELETE,
    "outbox": Forget.DELETE,
    "prompts": Forget.KEEP_AS_FORMER,
    "agenda_items": Forget.KEEP_AS_FORMER,
    "agenda_votes": Forget.KEEP_AS_FORMER,
    "introductions": Forget.KEEP_AS_FORMER,
    "practices": Forget.KEEP_AS_FORMER,
    "practice_votes": Forget.KEEP_AS_FORMER,
    "practice_asks": Forget.KEEP_AS_FORMER,
    "question_turns": Forget.KEEP_AS_FORMER,
    "attendances": Forget.KEEP_AS_FORMER,
    "decisions": Forget.KEEP_AS_FORMER,
    "actions": Forget.KEEP_AS_FORMER,
    # What /undo would take back; who moderated what (the community's record).
    "filings": Forget.DELETE,
    "audit_log": Forget.KEEP_AS_FORMER,
}

# Tables naming an account, and the columns that do: all deleted for the person.
ACCOUNT_TABLES: dict[str, tuple[str, ...]] = {
    "identities": ("platform", "user_id"),
    "code_attempts": ("platform", "user_id"),
    "spaces": ("conversation_id",),
    "outbox": (
        "conversation_id",
        "platform_conversation_id",
        "ephemeral_to",
        "options",
        "idempotency_key",
    ),
    "inbox": ("conversation_key", "payload"),
    "processed_events": ("key",),
}

# Free text that may carry a person's name: their names are replaced where it is kept.
NAMED_TEXT: dict[str, tuple[str, ...]] = {
    "outbox": ("text",),
    "timetable_runs": ("detail",),
    "agenda_rounds": ("ranking",),
}

NO_PERSONAL_DATA = frozenset(
    {"communities", "meetings", "meeting_questions", "timetable_runs", "replicas", "agenda_rounds"}
)

# How each table is named in the export.
SECTIONS: dict[str, str] = {
    "members": "memberships",
    "identities": "identities",
    "invite_codes": "link_codes",
    "prompts": "questions_put_to_you",
    "replies": "answers",
    "agenda_items": "agenda_items",
    "agenda_votes": "agenda_votes",
    "wall_entries": "wall_entries",
    "introductions": "introductions",
    "practices": "practices",
    "practice_votes": "practice_votes",
    "practice_asks": "practice_asks",
    "question_turns": "weekly_question_turns",
    "attendances": "attendance",
    "decisions": "decisions_recorded",
    "actions": "actions",
    "filings": "last_saved",
    "audit_log": "moderation",
    "outbox": "messages_to_you",
    "inbox": "messages_from_you",
    "spaces": "direct_chats",
    "code_attempts": "wrong_codes",
    "processed_events": "event_keys",
}

# What the export shows of a message: its text, not the platform's internals.
OUTBOX_FIELDS = ("id", "community_id", "platform", "text", "status", "created_at", "sent_at")


def member_columns(table: Table) -> list[str]:
    """The columns of ``table`` naming a member (``members.id`` itself included)."""
    if table.name == "members":
        return ["id"]
    return [
        column.name
        for column in table.columns
        if any(fk.column.table.name == "members" for fk in column.foreign_keys)
    ]


# Column names that hold a platform account (a user id, a phone number, a chat id).
ACCOUNT_HINTS = ("user_id", "conversation", "ephemeral", "phone", "payload", "sender")


def unclassified(metadata: MetaData) -> list[str]:
    """What erasure and export would miss in ``metadata``: tables not declared here,
    tables naming a member without an erasure rule, account columns not declared."""
    missing: list[str] = []
    for table in metadata.sorted_tables:
        name = table.name
        known = name in MEMBER_TABLES or name in ACCOUNT_TABLES or name in NO_PERSONAL_DATA
        if not known:
            missing.append(f"{name}: not classified")
        if member_columns(table) and name not in MEMBER_TABLES:
            missing.append(f"{name}: names a member but has no erasure rule")
        if (name in MEMBER_TABLES or name in ACCOUNT_TABLES) and name not in SECTIONS:
            missing.append(f"{name}: not in the export")
        for column in table.columns:
            hinted = any(hint in column.name for hint in ACCOUNT_HINTS)
            hinted = hinted and not column.name.endswith("_kind")
            if hinted and column.name not in ACCOUNT_TABLES.get(name, ()):
                missing.append(f"{name}.{column.name}: may hold an account, not declared")
    return missing


def member_tables() -> dict[str, list[str]]:
    return {
        table.name: cols for table in Base.metadata.sorted_tables if (cols := member_columns(table))
    }


@dataclass(frozen=True, slots=True)
class Person:
    """Every membership of one person, and every account they use."""

    member_ids: frozenset[int]
    accounts: frozenset[tuple[str, str]]
    # Direct chats with the bot: the user id, or the chat's own id where it differs (Slack).
    direct_chats: frozenset[tuple[str, str]] = frozenset()


def _accounts_match(
    platform: SQLColumnExpression[Any],
    user: SQLColumnExpression[Any],
    accounts: Iterable[tuple[str, str]],
) -> ColumnElement[bool]:
    pairs = [and_(platform == p, user == u) for p, u in sorted(accounts)]
    return or_(*pairs) if pairs else false()


async def person_of(
    session: AsyncSession,
    *,
    member_ids: Iterable[int] = (),
    accounts: Iterable[tuple[str, str]] = (),
) -> Person:
    """The person behind some memberships or accounts, following links both ways."""
    ids, seen = set(member_ids), set(accounts)
    while True:
        rows = (
            await session.execute(
                select(Identity.member_id, Identity.platform, Identity.user_id).where(
                    or_(
                        Identity.member_id.in_(ids) if ids else false(),
                        _accounts_match(Identity.platform, Identity.user_id, seen),
                    )
                )
            )
        ).all()
        more_ids = {r.member_id for r in rows} - ids
        more_accounts = {(r.platform, r.user_id) for r in rows} - seen
        if not more_ids and not more_accounts:
            break
        ids |= more_ids
        seen |= more_accounts
    chats = set(seen)
    if ids:
        sent = await session.execute(
            select(
                OutboxMessage.platform,
                OutboxMessage.conversation_id,
                OutboxMessage.platform_conversation_id,
            ).where(
                OutboxMessage.member_id.in_(ids),
                OutboxMessage.conversation_kind == ConversationKind.DM.value,
            )
        )
        for platform, conversation, platform_conversation in sent:
            chats.add((platform, conversation))
            if platform_conversation:
                chats.add((platform, platform_conversation))
    for row in await _inbound_rows(session, seen):
        chat: dict[str, Any] = row.payload.get("conversation") or {}
        if chat.get("kind") == ConversationKind.DM.value and chat.get("id"):
            chats.add((row.platform, str(chat["id"])))
    return Person(frozenset(ids), frozenset(seen), frozenset(chats))


async def _inbound_rows(
    session: AsyncSession,
    accounts: Iterable[tuple[str, str]],
    chats: Iterable[tuple[str, str]] = (),
) -> Sequence[InboxEvent]:
    """Inbound events sent by one of ``accounts`` or in one of the direct ``chats``."""
    sender = InboxEvent.payload["sender"]["user_id"].as_string()
    keys = [f"{platform}:{chat}"[:200] for platform, chat in chats]
    return (
        await session.scalars(
            select(InboxEvent).where(
                or_(
                    _accounts_match(InboxEvent.platform, sender, accounts),
                    InboxEvent.conversation_key.in_(keys) if keys else false(),
                )
            )
        )
    ).all()


def _outbox_of(person: Person) -> ColumnElement[bool]:
    """Outbox rows addressed to the person or naming their account."""
    dm = OutboxMessage.conversation_kind == ConversationKind.DM.value
    return or_(
        OutboxMessage.member_id.in_(person.member_ids) if person.member_ids else false(),
        and_(
            dm,
            _accounts_match(
                OutboxMessage.platform, OutboxMessage.conversation_id, person.direct_chats
            ),
        ),
        _accounts_match(OutboxMessage.platform, OutboxMessage.ephemeral_to, person.accounts),
        _accounts_match(
            OutboxMessage.platform,
            OutboxMessage.options["mention"][0].as_string(),
            person.accounts,
        ),
    )


def _processed_of(person: Person) -> ColumnElement[bool]:
    """Event keys (``platform:Kind:conversation:message``) of the person's direct chats."""
    return or_(
        false(),
        *(
            ProcessedEvent.key.like(f"{_like(platform)}:%:{_like(chat)}:%", escape="\\")
            for platform, chat in sorted(person.direct_chats)
        ),
    )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _spaces_of(person: Person) -> ColumnElement[bool]:
    return and_(
        Space.kind == ConversationKind.DM.value,
        _accounts_match(Space.platform, Space.conversation_id, person.direct_chats),
    )


# -- export -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def export(
    session: AsyncSession, texts: Texts, person: Person, now: datetime, language: str = "en"
) -> dict[str, Any]:
    """Everything Indaba holds about ``person``, section by section (see :data:`SECTIONS`).

    Each row carries its table's ``id``; rows of a community carry its name too.
    """
    communities = {c.id: c.name for c in (await session.scalars(select(Community))).all()}
    data: dict[str, Any] = {"exported_at": now.isoformat()}
    ids = person.member_ids
    for name, columns in member_tables().items():
        if name == "outbox":
            continue
        table = Base.metadata.tables[name]
        if not ids:
            data[SECTIONS[name]] = []
            continue
        rows = (
            await session.execute(
                select(table)
                .where(or_(*(table.c[c].in_(ids) for c in columns)))
                .order_by(table.c.id)
            )
        ).mappings()
        data[SECTIONS[name]] = [_row(dict(row), communities) for row in rows]
    await _with_questions(session, texts, data, language)
    messages = (
        await session.scalars(
            select(OutboxMessage).where(_outbox_of(person)).order_by(OutboxMessage.id)
        )
    ).all()
    data[SECTIONS["outbox"]] = [
        _row({f: getattr(m, f) for f in OUTBOX_FIELDS}, communities) for m in messages
    ]
    inbound = sorted(
        await _inbound_rows(session, person.accounts, person.direct_chats), key=lambda r: r.id
    )
    data[SECTIONS["inbox"]] = [
        {
            "id": r.id,
            "platform": r.platform,
            "kind": r.kind,
            "received_at": _plain(r.received_at),
            "status": r.status,
            **{k: r.payload[k] for k in ("text", "command", "args") if r.payload.get(k)},
        }
        for r in inbound
    ]
    spaces = (
        await session.scalars(select(Space).where(_spaces_of(person)).order_by(Space.id))
    ).all()
    data[SECTIONS["spaces"]] = [
        {"id": s.id, "platform": s.platform, "conversation_id": s.conversation_id} for s in spaces
    ]
    attempts = (
        await session.scalars(
            select(CodeAttempt)
            .where(_accounts_match(CodeAttempt.platform, CodeAttempt.user_id, person.accounts))
            .order_by(CodeAttempt.id)
        )
    ).all()
    data[SECTIONS["code_attempts"]] = [
        {"id": a.id, "platform": a.platform, "user_id": a.user_id, "failed_at": _plain(a.failed_at)}
        for a in attempts
    ]
    keys = (
        await session.scalars(
            select(ProcessedEvent).where(_processed_of(person)).order_by(ProcessedEvent.id)
        )
    ).all()
    data[SECTIONS["processed_events"]] = [
        {"id": k.id, "key": k.key, "received_at": _plain(k.received_at)} for k in keys
    ]
    return data


def _row(row: Mapping[str, Any], communities: Mapping[int, str]) -> dict[str, Any]:
    out = {key: _plain(value) for key, value in row.items()}
    if out.get("community_id") in communities:
        out["community"] = communities[out["community_id"]]
    return out


async def _with_questions(
    session: AsyncSession, texts: Texts, data: dict[str, Any], language: str
) -> None:
    """Answers and prompts name their question and meeting, so the file reads on its own."""
    prompt_ids = {r["prompt_id"] for r in data["answers"]} | {
        r["id"] for r in data["questions_put_to_you"]
    }
    if not prompt_ids:
        return
    found = (
        await session.execute(
            select(Prompt.id, MeetingQuestion, Meeting.title)
            .join(MeetingQuestion, MeetingQuestion.id == Prompt.question_id)
            .join(Meeting, Meeting.id == Prompt.meeting_id)
            .where(Prompt.id.in_(prompt_ids))
        )
    ).all()
    about = {pid: (question_text(texts, q, language), title) for pid, q, title in found}
    for row in data["answers"]:
        row["question"], row["meeting"] = about.get(row["prompt_id"], ("", ""))
    for row in data["questions_put_to_you"]:
        row["question"], row["meeting"] = about.get(row["id"], ("", ""))


def export_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)


def export_attachment(data: Mapping[str, Any], today: date) -> Attachment:
    """The export as a file to send: the bytes travel in a ``data:`` URL, made now."""
    body = base64.b64encode(export_json(data).encode()).decode("ascii")
    return Attachment(
        url=f"data:application/json;base64,{body}",
        filename=f"indaba-my-data-{today.isoformat()}.json",
        media_type="application/json",
    )


def counts(data: Mapping[str, Any]) -> dict[str, int]:
    """How many rows each section of an export has (the summary shown in chat)."""
    return {key: len(value) for key, value in data.items() if isinstance(value, list)}


# -- erasure ------------------------------------------------------------------------


@dataclass(slots=True)
class Erased:
    """What an erasure did, in figures (nothing in it names anyone)."""

    memberships: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    kept_as_former: dict[str, int] = field(default_factory=dict)

    def add(self, into: dict[str, int], table: str, count: int) -> None:
        if count:
            into[table] = into.get(table, 0) + count

    def describe(self) -> str:
        deleted = ", ".join(f"{n} {t}" for t, n in sorted(self.deleted.items())) or "nothing"
        kept = ", ".join(f"{n} {t}" for t, n in sorted(self.kept_as_former.items())) or "nothing"
        return (
            f"{self.memberships} memberships erased; deleted {deleted}; "
            f"kept as a former member {kept}"
        )


async def _delete(session: AsyncSession, model: Any, where: ColumnElement[bool]) -> int:
    result = await session.execute(
        delete(model).where(where).execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _reassign(
    session: AsyncSession,
    model: Any,
    column: Any,
    old: int,
    new: int,
    extra: ColumnElement[bool] | None = None,
) -> int:
    where = column == old if extra is None else and_(column == old, extra)
    result = await session.execute(
        update(model)
        .where(where)
        .values({column.key: new})
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _names(members: Sequence[Member], identities: Sequence[Identity]) -> list[str]:
    names = {m.display_name for m in members} | {i.display_name for i in identities}
    names |= {i.user_id for i in identities}
    # Longest first, so "Amina Diallo" goes before "Amina".
    return sorted((n for n in names if len(n.strip()) >= 2), key=len, reverse=True)


def scrub(text: str, names: Sequence[str], replacement: str) -> str:
    """``text`` with every whole-word occurrence of ``names`` replaced."""
    for name in names:
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", replacement, text)
    return text


async def erase(session: AsyncSession, texts: Texts, person: Person, now: datetime) -> Erased:
    """Erase ``person`` everywhere, in the caller's transaction.

    What a community's record needs (a counted vote, an answered question, a practice
    or agenda item others voted for, an introduction, the weekly question they posted)
    is moved to a new member named "A former member", with no identity and no link to
    who it was; everything else that names them is deleted.
    """
    done = Erased()
    members = (await session.scalars(select(Member).where(Member.id.in_(person.member_ids)))).all()
    identities = (
        (
            await session.scalars(select(Identity).where(Identity.member_id.in_(person.member_ids)))
        ).all()
        if person.member_ids
        else []
    )
    names = _names(members, identities)
    community_ids = {m.community_id for m in members}
    former_name: dict[int, str] = {}
    for member in members:
        community = await session.get(Community, member.community_id)
        assert community is not None
        former = await _erase_membership(session, texts, community, member, now, done)
        former_name[community.id] = former
        done.memberships += 1
    await _erase_accounts(session, person, done)
    await _scrub_names(session, names, community_ids, former_name, texts)
    return done


def former_member_name(texts: Texts, community: Community) -> str:
    return texts.render("privacy.former_member", community.language)


async def _erase_membership(
    session: AsyncSession,
    texts: Texts,
    community: Community,
    member: Member,
    now: datetime,
    done: Erased,
) -> str:
    mid = member.id
    name = former_member_name(texts, community)
    former: Member | None = None

    async def former_id() -> int:
        nonlocal former
        if former is None:
            former = Member(
                community_id=community.id,
                display_name=name,
                role=FORMER_ROLE,
                opted_out=True,
                anonymous=False,
                # Not "new" in any week's figures.
                joined_at=community.created_at,
            )
            session.add(former)
            await session.flush()
        return former.id

    # Answers go; the questions put to them stay counted (asked, answered) for meetings
    # that started. Open questions of meetings to come are withdrawn with them.
    done.add(done.deleted, "replies", await _delete(session, Reply, Reply.member_id == mid))
    done.add(done.deleted, "filings", await _delete(session, Filing, Filing.member_id == mid))
    upcoming = select(Meeting.id).where(Meeting.starts_at > now)
    done.add(
        done.deleted,
        "prompts",
        await _delete(
            session,
            Prompt,
            and_(
                Prompt.member_id == mid,
                Prompt.status != PromptStatus.ANSWERED,
                Prompt.meeting_id.in_(upcoming),
            ),
        ),
    )
    if await session.scalar(select(Prompt.id).where(Prompt.member_id == mid).limit(1)):
        done.add(
            done.kept_as_former,
            "prompts",
            await _reassign(session, Prompt, Prompt.member_id, mid, await former_id()),
        )

    # Agenda items others voted for, or ranked in a closed round, stay; the rest go.
    voted_by_others = select(AgendaVote.item_id).where(AgendaVote.member_id != mid)
    closed = select(AgendaRound.id).where(AgendaRound.closed_at.is_not(None))
    keep_items = and_(
        AgendaItem.member_id == mid,
        or_(AgendaItem.id.in_(voted_by_others), AgendaItem.round_id.in_(closed)),
    )
    drop_items = select(AgendaItem.id).where(AgendaItem.member_id == mid, ~keep_items)
    await _delete(session, AgendaVote, AgendaVote.item_id.in_(drop_items))
    await session.execute(
        update(AgendaItem)
        .where(AgendaItem.merged_into_id.in_(drop_items))
        .values(merged_into_id=None)
        .execution_options(synchronize_session="fetch")
    )
    dropped = (await session.scalars(drop_items)).all()
    done.add(
        done.deleted,
        "agenda_items",
        await _delete(session, AgendaItem, AgendaItem.id.in_(dropped)) if dropped else 0,
    )
    if await session.scalar(select(AgendaItem.id).where(keep_items).limit(1)):
        new = await former_id()
        kept = await _reassign(session, AgendaItem, AgendaItem.member_id, mid, new)
        done.add(done.kept_as_former, "agenda_items", kept)
        await _remap_rankings(session, community.id, mid, new)
    if await session.scalar(select(AgendaVote.id).where(AgendaVote.member_id == mid).limit(1)):
        done.add(
            done.kept_as_former,
            "agenda_votes",
            await _reassign(session, AgendaVote, AgendaVote.member_id, mid, await former_id()),
        )

    # Practices others voted for stay, under the former member; their own go.
    others = select(PracticeVote.practice_id).where(PracticeVote.member_id != mid)
    unvoted = and_(Practice.member_id == mid, Practice.id.not_in(others))
    await _delete(
        session,
        PracticeVote,
        PracticeVote.practice_id.in_(select(Practice.id).where(unvoted)),
    )
    done.add(done.deleted, "practices", await _delete(session, Practice, unvoted))
    for model, column, table in (
        (Practice, Practice.member_id, "practices"),
        (PracticeVote, PracticeVote.member_id, "practice_votes"),
        (PracticeAsk, PracticeAsk.member_id, "practice_asks"),
        (QuestionTurn, QuestionTurn.member_id, "question_turns"),
        (Attendance, Attendance.member_id, "attendances"),
        (Decision, Decision.created_by_id, "decisions"),
        (Action, Action.owner_id, "actions"),
        (Action, Action.created_by_id, "actions"),
        (AuditEntry, AuditEntry.actor_id, "audit_log"),
        (AuditEntry, AuditEntry.author_id, "audit_log"),
    ):
        if await session.scalar(select(model.id).where(column == mid).limit(1)):
            done.add(
                done.kept_as_former,
                table,
                await _reassign(session, model, column, mid, await former_id()),
            )

    # Introductions stay counted; the former member takes the higher id (a < b).
    intros = (
        await session.scalars(
            select(Introduction).where(
                or_(Introduction.member_a_id == mid, Introduction.member_b_id == mid)
            )
        )
    ).all()
    for intro in intros:
        new = await former_id()
        if intro.member_a_id == mid:
            intro.member_a_id, intro.member_b_id = intro.member_b_id, new
            intro.a_answer, intro.b_answer = intro.b_answer, intro.a_answer
        else:
            intro.member_b_id = new
        done.add(done.kept_as_former, "introductions", 1)
    await session.flush()

    done.add(
        done.deleted, "wall_entries", await _delete(session, WallEntry, WallEntry.member_id == mid)
    )
    done.add(
        done.deleted,
        "invite_codes",
        await _delete(session, InviteCode, InviteCode.member_id == mid),
    )
    done.add(
        done.deleted, "identities", await _delete(session, Identity, Identity.member_id == mid)
    )
    done.add(
        done.deleted,
        "outbox",
        await _delete(session, OutboxMessage, OutboxMessage.member_id == mid),
    )
    done.add(done.deleted, "members", await _delete(session, Member, Member.id == mid))
    return name


async def _remap_rankings(session: AsyncSession, community_id: int, old: int, new: int) -> None:
    rounds = (
        await session.scalars(select(AgendaRound).where(AgendaRound.community_id == community_id))
    ).all()
    for agenda in rounds:
        if any(row.get("proposer_id") == old for row in agenda.ranking or []):
            agenda.ranking = [
                {**row, "proposer_id": new} if row.get("proposer_id") == old else row
                for row in agenda.ranking
            ]


async def _erase_accounts(session: AsyncSession, person: Person, done: Erased) -> None:
    """What names the person's accounts rather than a membership."""
    done.add(done.deleted, "outbox", await _delete(session, OutboxMessage, _outbox_of(person)))
    inbound = await _inbound_rows(session, person.accounts, person.direct_chats)
    if inbound:
        done.add(
            done.deleted,
            "inbox",
            await _delete(session, InboxEvent, InboxEvent.id.in_([r.id for r in inbound])),
        )
    if person.direct_chats:
        done.add(
            done.deleted,
            "processed_events",
            await _delete(session, ProcessedEvent, _processed_of(person)),
        )
        done.add(done.deleted, "spaces", await _delete(session, Space, _spaces_of(person)))
    if person.accounts:
        done.add(
            done.deleted,
            "identities",
            await _delete(
                session,
                Identity,
                _accounts_match(Identity.platform, Identity.user_id, person.accounts),
            ),
        )
        done.add(
            done.deleted,
            "code_attempts",
            await _delete(
                session,
                CodeAttempt,
                _accounts_match(CodeAttempt.platform, CodeAttempt.user_id, person.accounts),
            ),
        )


async def _scrub_names(
    session: AsyncSession,
    names: Sequence[str],
    community_ids: set[int],
    former_name: Mapping[int, str],
    texts: Texts,
) -> None:
    """Their names go from the texts kept for others (group posts, timetable records)."""
    if not names or not community_ids:
        return
    default = next(iter(former_name.values()), texts.render("privacy.former_member"))
    mentions = or_(*(OutboxMessage.text.contains(n, autoescape=True) for n in names))
    rows = (
        await session.scalars(
            select(OutboxMessage).where(
                or_(
                    OutboxMessage.community_id.in_(community_ids),
                    OutboxMessage.community_id.is_(None),
                ),
                mentions,
            )
        )
    ).all()
    for row in rows:
        row.text = scrub(row.text, names, former_name.get(row.community_id or 0, default))
    runs = (
        await session.scalars(
            select(TimetableRun).where(
                TimetableRun.community_id.in_(community_ids),
                or_(*(TimetableRun.detail.contains(n, autoescape=True) for n in names)),
            )
        )
    ).all()
    for run in runs:
        if run.detail:
            run.detail = scrub(run.detail, names, former_name.get(run.community_id or 0, default))
    await session.flush()


# -- retention ----------------------------------------------------------------------


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (clamped to month end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in range(moment.day, 0, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(slots=True)
class Pruned:
    answers: int = 0
    outbox_texts: int = 0
    exports: int = 0
    farewells: int = 0
    inbound: int = 0
    event_keys: int = 0

    def describe(self) -> str:
        return (
            f"pruned {self.answers} answers, {self.outbox_texts} message texts, "
            f"{self.exports} exported files, {self.farewells} farewells, "
            f"{self.inbound} inbound events, {self.event_keys} event keys"
        )


async def prune(session: AsyncSession, community: Community, now: datetime) -> Pruned:
    """What the community's retention settings say is past keeping, gone.

    Answers to the questions of meetings that started more than
    ``answers_retention_months`` ago are deleted (the prompts stay, so the meeting's
    figures keep); outbox rows finished more than ``delivered_text_days`` ago lose their
    text. Handled inbound events and de-duplication keys older than
    :data:`INBOUND_DAYS` are deleted, as are confirmations of an erasure once sent and
    exported files a day after they were sent.
    """
    settings = CommunitySettings.of(community.settings)
    pruned = Pruned()
    if settings.answers_retention_months:
        cutoff = months_before(now, settings.answers_retention_months)
        old_prompts = (
            select(Prompt.id)
            .join(Meeting, Meeting.id == Prompt.meeting_id)
            .where(Meeting.community_id == community.id, Meeting.starts_at < cutoff)
        )
        pruned.answers = await _delete(session, Reply, Reply.prompt_id.in_(old_prompts))
    finished = OutboxMessage.status.not_in(WAITING)
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.community_id == community.id,
            finished,
            OutboxMessage.created_at < now - timedelta(days=settings.delivered_text_days),
            OutboxMessage.text != "",
        )
        .values(text="")
        .execution_options(synchronize_session="fetch")
    )
    pruned.outbox_texts = int(getattr(result, "rowcount", 0) or 0)
    exports = (
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.context["kind"].as_string() == ContextKind.MY_DATA.value,
                finished,
                OutboxMessage.created_at < now - EXPORT_KEPT,
            )
        )
    ).all()
    for row in exports:
        if row.options.get("attachment"):
            row.options = {k: v for k, v in row.options.items() if k != "attachment"}
            pruned.exports += 1
    pruned.farewells = await _delete(
        session,
        OutboxMessage,
        and_(OutboxMessage.context["kind"].as_string() == ContextKind.FAREWELL.value, finished),
    )
    inbound_cutoff = now - timedelta(days=INBOUND_DAYS)
    pruned.inbound = await _delete(
        session,
        InboxEvent,
        and_(InboxEvent.status == InboxStatus.DONE, InboxEvent.received_at < inbound_cutoff),
    )
    pruned.event_keys = await _delete(
        session, ProcessedEvent, ProcessedEvent.received_at < inbound_cutoff
    )
    await session.flush()
    return pruned


# -- the notice ---------------------------------------------------------------------


def notice(
    texts: Texts,
    language: str,
    community: Community | None,
    facilitators: Sequence[str] = (),
) -> str:
    """The privacy notice: the community's own in ``language`` when it set one, else
    the template filled in with its settings."""
    settings = CommunitySettings.of(community.settings if community else None)
    own = settings.privacy_notice.get(language) or (
        settings.privacy_notice.get(community.language) if community else None
    )
    if own:
        return own
    return texts.render(
        "privacy.notice",
        language,
        community=community.name if community else "",
        facilitators=list(facilitators),
        answers_months=settings.answers_retention_months,
        text_days=settings.delivered_text_days,
        inbound_days=INBOUND_DAYS,
    )
