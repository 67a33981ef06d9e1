"""The tables of Indaba, in the CoP's own words."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Inbound events not yet handled: ix_inbox_waiting's condition. The claim writes the
# same condition with the same literal values, so that both databases see the index
# serves it.
INBOX_WAITING = "status IN ('pending', 'handling')"
# Inbound events waiting for a first or another attempt: ix_inbox_pending's condition.
INBOX_PENDING = "status = 'pending'"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="en")
    # Timetable offsets and other per-community choices; see bot.engine.community_settings.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="member")
    language: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime]

    identities: Mapped[list[Identity]] = relationship(
        back_populates="member", lazy="selectin", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_members_community_role", "community_id", "role"),)

    @property
    def is_facilitator(self) -> bool:
        return self.role == "facilitator"


class Identity(Base):
    """One platform account of a member (the same person may be on Slack and WhatsApp)."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200))
    last_inbound_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]

    member: Mapped[Member] = relationship(back_populates="identities", lazy="raise")

    __table_args__ = (
        UniqueConstraint("community_id", "platform", "user_id", name="uq_identities_account"),
        Index("ix_identities_platform_user", "platform", "user_id"),
        # A page of members' identities is loaded by member (the fan-out, the brief).
        Index("ix_identities_member", "member_id"),
    )


class Space(Base):
    """A group channel or a direct-message line on a platform."""

    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    platform: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))
    title: Mapped[str | None] = mapped_column(String(200))
    linked_at: Mapped[datetime | None]
    unreachable_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("platform", "conversation_id", name="uq_spaces_conversation"),
    )


class InviteCode(Base):
    """A code that sets up a group (facilitator), lets members join, or links an account.

    Only a hash of the code is stored.
    """

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="meeting")
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime]
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    # "scheduled" or "cancelled" (storage.statuses.MeetingStatus).
    status: Mapped[str] = mapped_column(String(16), default="scheduled", server_default="scheduled")
    # Where it is held (a room, an address) and the video link, as the facilitator wrote them.
    place: Mapped[str | None] = mapped_column(String(500))
    video_link: Mapped[str | None] = mapped_column(String(500))
    # The last time it was moved, for the announcement of the new time.
    moved_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_meetings_community_start", "community_id", "starts_at"),)


class Attendance(Base):
    """Whether a member said they will come to a meeting, and whether they came."""

    __tablename__ = "attendances"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "yes", "no" or "maybe" (storage.statuses.AttendanceIntent); NULL until they say.
    intent: Mapped[str | None] = mapped_column(String(8))
    intent_at: Mapped[datetime | None]
    # Marked by a facilitator after the meeting; NULL until marked.
    attended: Mapped[bool | None] = mapped_column(Boolean)
    marked_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="uq_attendances_meeting_member"),
    )


class Decision(Base):
    """A decision a meeting took, as a facilitator recorded it."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_decisions_meeting", "meeting_id"),)


class Action(Base):
    """Something a member took on at a meeting, with a due date, followed up until done."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    # The number shown to the community (/action done N); never reused or shifted.
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    due_on: Mapped[date] = mapped_column(Date)
    # "open", "working", "done" or "dropped" (storage.statuses.ActionStatus).
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    status_at: Mapped[datetime | None]
    # The day the owner is next asked how it goes (the due date, then a week after
    # "still working"); NULL once done or dropped, or while a question waits.
    check_on: Mapped[date | None] = mapped_column(Date)
    checked_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("community_id", "number", name="uq_actions_community_number"),
        Index("ix_actions_meeting", "meeting_id"),
        Index("ix_actions_check", "status", "check_on"),
    )


class MeetingQuestion(Base):
    """A pre-meeting question: from the library (``library_key``) or written by a facilitator."""

    __tablename__ = "meeting_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    library_key: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str | None] = mapped_column(Text)
    # A facilitator's wording for members of one language ({"fr": "..."}), over ``text``.
    texts: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    removed_at: Mapped[datetime | None]


class Prompt(Base):
    """A question put to one member for one meeting."""

    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("meeting_questions.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    asked_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("question_id", "member_id", name="uq_prompts_question_member"),
        Index("ix_prompts_member_status", "member_id", "status"),
        # The brief's, harvest's and digest's counts: a meeting's prompts member by
        # member, with what the counts read (no table lookups, no sort for the GROUP BY).
        Index(
            "ix_prompts_meeting_member",
            "meeting_id",
            "member_id",
            "question_id",
            "status",
            "asked_at",
        ),
    )


class Reply(Base):
    """A member's answer to a prompt; edits replace the text and keep the first time."""

    __tablename__ = "replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    prompt_id: Mapped[int] = mapped_column(
        ForeignKey("prompts.id", ondelete="CASCADE"), unique=True
    )
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(128))
    received_at: Mapped[datetime]
    edited_at: Mapped[datetime | None]
    # Hidden by a facilitator (``hidden_by``, a member id) or the operator (NULL); see
    # bot.engine.services.moderation.visible. No foreign key: on SQLite adding one
    # would rebuild the table.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_replies_platform_message", "platform", "message_id"),
        # The digest's answers of the week.
        Index("ix_replies_received", "received_at"),
    )


class OutboxMessage(Base):
    """A message written before it is sent; the delivery loop sends it exactly once."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="SET NULL")
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(32))
    conversation_kind: Mapped[str] = mapped_column(String(8))
    conversation_id: Mapped[str] = mapped_column(String(128))
    thread_id: Mapped[str | None] = mapped_column(String(128))
    ephemeral_to: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[Any]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the message is about (a prompt, a choice list), for replies that come back.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    platform_conversation_id: Mapped[str | None] = mapped_column(String(128))
    platform_poll_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The delivery loop's claim: pending rows of one platform in id order.
        Index(
            "ix_outbox_pending",
            "platform",
            "id",
            postgresql_where=sql_text("status = 'pending'"),
            sqlite_where=sql_text("status = 'pending'"),
        ),
        Index("ix_outbox_platform_message", "platform", "platform_message_id"),
        Index("ix_outbox_member", "member_id", "status"),
        # One conversation's messages: what an inbound turn looks up (the last one
        # delivered, those held for its reply window, open confirmations).
        Index("ix_outbox_conversation", "platform", "conversation_id", "status", "sent_at"),
        # A community's messages this month (what WhatsApp bills, and its monthly cap).
        Index("ix_outbox_community_sent", "community_id", "sent_at"),
    )


class TimetableRun(Base):
    """One occurrence of a timetable step; its unique key makes a second firing a no-op."""

    __tablename__ = "timetable_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    community_id: Mapped[int | None] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE")
    )
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    ran_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class ProcessedEvent(Base):
    """Inbound events already handled, so a platform's re-delivery changes nothing."""

    __tablename__ = "processed_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    received_at: Mapped[datetime]


class CodeAttempt(Base):
    """A wrong join, setup or link code typed by a sender (for the rate limit)."""

    __tablename__ = "code_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(128))
    failed_at: Mapped[datetime]

    __table_args__ = (Index("ix_code_attempts_sender", "platform", "user_id", "failed_at"),)


class Replica(Base):
    """One running ``indaba run`` process, seen through its heartbeat (``indaba status``)."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    # What this process leads, comma-separated ("timetable", "telegram-polling"), or "".
    leads: Mapped[str] = mapped_column(String(200), default="")


class InboxEvent(Base):
    """An inbound event, stored before the platform is answered 2xx and handled after.

    Workers claim rows under a lease (like the outbox); rows of one conversation are
    handled in order, rows of different conversations in parallel. ``payload`` is the
    neutral event (``bot.runtime.inbox`` encodes it), never the platform's raw body.
    """

    __tablename__ = "inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    # "<platform>:<conversation id>": events with the same key are handled in order.
    conversation_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_inbox_due", "status", "next_attempt_at"),
        Index("ix_inbox_conversation", "conversation_key", "id"),
        # The claim's "is an earlier event of this conversation still waiting?": the
        # waiting events only, not the conversation's history of handled ones.
        Index(
            "ix_inbox_waiting",
            "conversation_key",
            "id",
            postgresql_where=sql_text(INBOX_WAITING),
            sqlite_where=sql_text(INBOX_WAITING),
        ),
        # The claim's due events in id order, the oldest first: read until the batch is
        # full, not every pending event found and sorted.
        Index(
            "ix_inbox_pending",
            "id",
            postgresql_where=sql_text(INBOX_PENDING),
            sqlite_where=sql_text(INBOX_PENDING),
        ),
    )


class AgendaRound(Base):
    """The co-built agenda of one meeting: proposals, then voting, then the ranking."""

    __tablename__ = "agenda_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), unique=True
    )
    # "proposals", "voting" or "closed".
    status: Mapped[str] = mapped_column(String(16), default="proposals")
    opened_at: Mapped[datetime]
    voting_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # The ranked agenda as posted at close: [{rank, item_id, title, votes, voters, proposer}].
    ranking: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # An anonymous ballot forgets who voted for what at close; only the tallies (in
    # ``ranking``) are kept. Taken from the community's setting when voting opens.
    anonymous: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )


class AgendaItem(Base):
    """An item a member proposed for a meeting's agenda."""

    __tablename__ = "agenda_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("agenda_rounds.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    # What members type (/agenda vote 3): given once, in proposal order, never reused in
    # the round, so a withdrawn or merged item leaves a gap instead of renumbering the
    # rest. Empty only for rows older than numbering, which the migration numbers.
    number: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_items.id", ondelete="SET NULL")
    )
    # Hidden by a facilitator (``hidden_by``, a member id) or the operator (NULL); see
    # bot.engine.services.moderation.visible. No foreign key: on SQLite adding one
    # would rebuild the table.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_agenda_items_round", "round_id"),
        Index("uq_agenda_items_round_number", "round_id", "number", unique=True),
    )


class AgendaVote(Base):
    """One member's vote on one item: 1 in approval voting, their dots in dot voting."""

    __tablename__ = "agenda_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    dots: Mapped[int] = mapped_column(Integer, default=1)
    voted_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("item_id", "member_id", name="uq_agenda_votes_item_member"),)


class WallEntry(Base):
    """A member's line on the wall of passions: passions, what they offer, what they need."""

    __tablename__ = "wall_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    passions: Mapped[str | None] = mapped_column(Text)
    contributes: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    # The field Indaba asked about and is waiting for, in the member's DM.
    pending_field: Mapped[str | None] = mapped_column(String(16))
    pending_since: Mapped[datetime | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
    # Hidden by a facilitator (``hidden_by``, a member id) or the operator (NULL); see
    # bot.engine.services.moderation.visible. No foreign key: on SQLite adding one
    # would rebuild the table.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[int | None] = mapped_column(Integer)


class Introduction(Base):
    """Two members Indaba offered to introduce; ``member_a_id < member_b_id``."""

    __tablename__ = "introductions"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_a_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    member_b_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # "need" (one's need meets the other's offer) or "passion" (a shared passion).
    reason: Mapped[str] = mapped_column(String(16))
    topics: Mapped[str] = mapped_column(String(300))
    a_answer: Mapped[str | None] = mapped_column(String(16))
    b_answer: Mapped[str | None] = mapped_column(String(16))
    offered_at: Mapped[datetime]
    made_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint(
            "community_id", "member_a_id", "member_b_id", name="uq_introductions_pair"
        ),
    )


class Practice(Base):
    """A best practice a member shared, at any time or after a meeting."""

    __tablename__ = "practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # Hidden by a facilitator (``hidden_by``, a member id) or the operator (NULL); see
    # bot.engine.services.moderation.visible. No foreign key: on SQLite adding one
    # would rebuild the table.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[int | None] = mapped_column(Integer)


class PracticeVote(Base):
    __tablename__ = "practice_votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    voted_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("practice_id", "member_id", name="uq_practice_votes_practice_member"),
    )


class PracticeAsk(Base):
    """After a meeting, the member was asked for the one practice they take away."""

    __tablename__ = "practice_asks"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="uq_practice_asks_meeting_member"),
    )


class QuestionTurn(Base):
    """The member invited to post one week's question to the group."""

    __tablename__ = "question_turns"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    # ISO year-week, e.g. "2026-W45".
    week: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # "invited", "declined", "posted" (by the member) or "library" (Indaba's fallback).
    status: Mapped[str] = mapped_column(String(16), default="invited")
    text: Mapped[str | None] = mapped_column(Text)
    invited_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("community_id", "week", name="uq_question_turns_community_week"),
    )


class AuditEntry(Base):
    """Who hid, removed or restored which answer, practice, agenda item or wall entry, when.

    ``actor_id`` is NULL for the operator (``indaba`` on the command line) or once the
    member is forgotten. The item's text is never copied here: a removal stays a removal.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # "hide", "remove" or "restore".
    action: Mapped[str] = mapped_column(String(16))
    # "answer", "practice", "agenda" or "wall".
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int] = mapped_column(Integer)
    # The item's author, so a member's own removals read as such.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_audit_log_community_at", "community_id", "at"),)


class Filing(Base):
    """What a member's text was last filed as, so ``/undo`` can take it back.

    One row per member (only the last filing can be undone). ``previous`` is the text
    the filing replaced (an answer changed, a wall line rewritten), NULL for a new item.
    """

    __tablename__ = "filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), unique=True
    )
    # "answer" (a reply's id), "practice" or "wall" (the entry's id, with ``field``).
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(16))
    previous: Mapped[str | None] = mapped_column(Text)
    filed_at: Mapped[datetime]
