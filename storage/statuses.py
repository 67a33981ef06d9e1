"""The statuses and kinds stored in Indaba's tables, as StrEnums (stored as their values)."""

from __future__ import annotations

from enum import StrEnum


class OutboxStatus(StrEnum):
    """Where an outgoing message is on its way out."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a delivery pass until lease_until
    SENT = "sent"  # the platform accepted it
    HELD = "held"  # waits for the member's reply window to open
    EXPIRED = "expired"  # waited past its useful life and was dropped
    DEAD = "dead"  # refused, or failed too often: an operator looks (indaba outbox retry)
    UNREACHABLE = "unreachable"  # the address cannot be reached (blocked, left)


class InboxStatus(StrEnum):
    """Where an inbound event is on its way through the engine."""

    PENDING = "pending"  # stored, waiting for a worker (or for its retry time)
    HANDLING = "handling"  # claimed by a worker until lease_until
    DONE = "done"
    DEAD = "dead"  # failed too often: an operator looks (indaba inbox retry)


class PromptStatus(StrEnum):
    """A pre-meeting question put to one member."""

    QUEUED = "queued"
    ASKED = "asked"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class AttendanceIntent(StrEnum):
    """What a member said when asked whether they will come."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


class ActionStatus(StrEnum):
    """An action a member took on at a meeting."""

    OPEN = "open"
    WORKING = "working"  # the owner said "still working"; asked again a week later
    DONE = "done"
    DROPPED = "dropped"


class RoundStatus(StrEnum):
    """A meeting's co-built agenda."""

    PROPOSALS = "proposals"
    VOTING = "voting"
    CLOSED = "closed"


class TurnStatus(StrEnum):
    """A member's turn to ask the weekly question."""

    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    POSTED = "posted"
    LIBRARY = "library"


class IntroductionAnswer(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


class ItemKind(StrEnum):
    """What a member filed that a facilitator can moderate (and the member undo)."""

    ANSWER = "answer"  # a reply to a pre-meeting question
    PRACTICE = "practice"
    WALL = "wall"  # a line on the wall of passions
    AGENDA = "agenda"  # an agenda item


class ModerationAction(StrEnum):
    HIDE = "hide"  # kept, but out of the brief, harvest, digest and exports
    RESTORE = "restore"  # shown again
    REMOVE = "remove"  # deleted for good


class ContextKind(StrEnum):
    """What a sent message was for, kept with its outbox row (``context["kind"]``).

    A member's button press, poll answer or numbered reply is interpreted by the kind
    of the message that offered the choice; a reply to a message by its kind too.
    """

    PROMPT = "prompt"
    AGENDA_BALLOT = "agenda-ballot"
    INTRODUCTION = "introduction"
    WEEKLY_QUESTION = "weekly-question"
    # The re-opening message (WhatsApp's template): a tap on its button answers it.
    REOPENER = "reopener"
    # Indaba asked which of two things a typed number was meant for.
    NUMBER_MEANING = "number-meaning"
    # /forget asked for a confirmation; the member's own export (/mydata); the one
    # message confirming an erasure, deleted once sent.
    FORGET = "forget"
    MY_DATA = "my-data"
    FAREWELL = "farewell"
    # "Is this your answer?": a short greeting or question back, held until confirmed.
    FILING_CONFIRM = "filing-confirm"
    # Will you come? (yes / no / maybe); how an action goes (done / working / dropped);
    # who came to a meeting, offered to the facilitator as choices.
    ATTENDANCE = "attendance"
    ACTION_CHECK = "action-check"
    ATTENDED = "attended"
