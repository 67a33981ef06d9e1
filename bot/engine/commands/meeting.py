"""/meeting and /attended: the calendar, and who came.

``/meeting`` shows the next meeting, ``/meeting list`` the meetings ahead with their
numbers; facilitators add, move, cancel and place them. Adding and moving a meeting
attach its calendar invitation (``.ics``); ``/meeting ics ID`` sends it on request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.engine import i18n
from bot.engine.commands.access import require_facilitator
from bot.engine.registry import Registry
from bot.engine.services import attendance, invitations, meeting_notices, practices
from bot.engine.services.meetings import (
    MeetingError,
    MeetingKind,
    add_meeting,
    cancel_meeting,
    find_meeting,
    is_cancelled,
    meetings_of,
    move_meeting,
    next_meeting,
    parse_local,
    set_place,
)
from bot.engine.services.mentions import find_named
from bot.engine.turn import Turn
from bot.messages import (
    Address,
    Attachment,
    Choice,
    ChoiceSelected,
    ConversationKind,
    OutgoingMessage,
)
from bot.runtime.outbox import Envelope
from storage.models import Meeting, Member, OutboxMessage, TimetableRun
from storage.statuses import AttendanceIntent, ContextKind

USAGE = (
    "/meeting [list [all] | add YYYY-MM-DD HH:MM [workshop] TITLE | move ID YYYY-MM-DD HH:MM"
    " | cancel ID | place ID TEXT | ics ID]"
)
# Subcommands only facilitators use.
CHANGES = ("add", "move", "cancel", "place")


def _when(turn: Turn, moment: datetime) -> str:
    assert turn.community is not None
    local = i18n.local(moment, turn.community, turn.member)
    return i18n.format_datetime(local, turn.language, year=True)


async def _with_file(
    turn: Turn, key: str, text: str, attachment: Attachment, *, to_sender: bool = False
) -> None:
    """Answer with a file where the event came from, publicly, or in the sender's direct
    messages with ``to_sender`` (an ephemeral group answer cannot carry a file on every
    platform)."""
    event = turn.event
    if turn.in_group and not to_sender:
        address = Address(event.platform, ConversationKind.GROUP, event.conversation.id)
    else:
        # This direct chat, or the sender's own when asked in a group.
        dm = event.sender.user_id if turn.in_group else event.conversation.id
        address = Address(event.platform, ConversationKind.DM, dm)
    await turn.services.outbox.put_one(
        turn.session,
        Envelope(
            f"{key}:{event.platform}:{event.conversation.id}:{event.message_id or ''}",
            OutgoingMessage(
                address=address,
                text=text,
                attachment=attachment,
            ),
            community_id=turn.community.id if turn.community else None,
            member_id=turn.member.id if turn.member else None,
        ),
    )


async def _named_meeting(turn: Turn, words: list[str], command: str) -> Meeting | None:
    """The meeting ``words[0]`` names (``3`` or ``#3``) in this community; answered, with
    ``command`` as the example, when none."""
    assert turn.community is not None
    typed = words[0].lstrip("#") if words else ""
    if not typed.isdigit():
        await turn.say("meeting.id_usage", private=True, command=command)
        return None
    found = await find_meeting(turn.session, turn.community.id, int(typed))
    if found is None:
        await turn.say("meeting.no_such", private=True, id=typed)
    return found


async def show_next(turn: Turn) -> None:
    assert turn.community is not None
    now = turn.services.clock.now()
    upcoming = await next_meeting(turn.session, turn.community.id, now)
    if upcoming is None:
        await turn.say("meeting.none", private=True)
        return
    local = i18n.local(upcoming.starts_at, turn.community, turn.member)
    await turn.say(
        "meeting.next",
        private=True,
        id=upcoming.id,
        title=upcoming.title,
        kind=upcoming.kind,
        days=(upcoming.starts_at - now).days,
        when=i18n.format_datetime(local, turn.language, year=True, zone=False),
        timezone=str(local.tzinfo),
        where=attendance.where_text(turn.services.messenger, upcoming, turn.language),
    )


async def show_list(turn: Turn, everything: bool) -> None:
    assert turn.community is not None
    now = turn.services.clock.now()
    found = await meetings_of(
        turn.session,
        turn.community.id,
        since=None if everything else now,
        cancelled=everything,
    )
    await turn.say(
        "meeting.list",
        private=True,
        all=everything,
        facilitator=turn.member is not None and turn.member.is_facilitator,
        meetings=[
            {
                "id": m.id,
                "title": m.title,
                "when": _when(turn, m.starts_at),
                "place": " ".join(p for p in (m.place, m.video_link) if p),
                "cancelled": is_cancelled(m),
            }
            for m in found
        ],
    )


async def add(turn: Turn, words: list[str]) -> None:
    assert turn.community is not None
    if len(words) < 2:
        await turn.say("meeting.usage", private=True)
        return
    now = turn.services.clock.now()
    kind = MeetingKind.MEETING
    title_words = words[2:]
    if title_words and title_words[0].lower() in ("workshop", "meeting"):
        kind = MeetingKind(title_words[0].lower())
        title_words = title_words[1:]
    starts_at = parse_local(turn.community, words[0], words[1])
    created = await add_meeting(
        turn.session, turn.community, starts_at, " ".join(title_words), kind, now
    )
    await _with_file(
        turn,
        f"meeting-added:{created.id}",
        turn.t(
            "meeting.added",
            id=created.id,
            title=created.title,
            kind=created.kind,
            when=_when(turn, created.starts_at),
        ),
        invitations.attachment(turn.community, created, now),
    )


async def move(turn: Turn, words: list[str]) -> None:
    assert turn.community is not None
    found = await _named_meeting(turn, words, "/meeting move")
    if found is None:
        return
    if len(words) != 3:
        await turn.say("meeting.usage", private=True)
        return
    now = turn.services.clock.now()
    old = await move_meeting(
        turn.session, found, parse_local(turn.community, words[1], words[2]), now
    )
    await turn.services.questions.follow_move(turn.session, turn.community, found, now)
    await meeting_notices.tell_moved(
        turn.session, turn.services.messenger, turn.community, found, old, now, turn.member
    )
    await turn.say(
        "meeting.moved",
        private=True,
        id=found.id,
        title=found.title,
        old=_when(turn, old),
        new=_when(turn, found.starts_at),
    )


async def cancel(turn: Turn, words: list[str]) -> None:
    assert turn.community is not None
    found = await _named_meeting(turn, words, "/meeting cancel")
    if found is None:
        return
    now = turn.services.clock.now()
    await cancel_meeting(turn.session, found, now)
    await meeting_notices.tell_cancelled(
        turn.session, turn.services.messenger, turn.community, found, now, turn.member
    )
    await turn.say(
        "meeting.cancelled",
        private=True,
        id=found.id,
        title=found.title,
        when=_when(turn, found.starts_at),
    )


async def place(turn: Turn, words: list[str]) -> None:
    found = await _named_meeting(turn, words, "/meeting place")
    if found is None:
        return
    set_place(found, " ".join(words[1:]))
    await turn.say(
        "meeting.place_set",
        private=True,
        id=found.id,
        title=found.title,
        place=found.place or "",
        link=found.video_link or "",
    )


async def ics(turn: Turn, words: list[str]) -> None:
    assert turn.community is not None
    found = await _named_meeting(turn, words, "/meeting ics")
    if found is None:
        return
    now = turn.services.clock.now()
    await _with_file(
        turn,
        f"meeting-ics:{found.id}:{int(now.timestamp())}",
        turn.t("meeting.ics", id=found.id, title=found.title, when=_when(turn, found.starts_at)),
        invitations.attachment(turn.community, found, now),
        to_sender=True,
    )


async def meeting_command(turn: Turn, args: str) -> None:
    assert turn.community is not None
    words = args.split()
    if not words:
        await show_next(turn)
        return
    action, rest = words[0].lower(), words[1:]
    if action == "list":
        if rest and [w.lower() for w in rest] not in (["all"], ["--all"]):
            await turn.say("meeting.usage", private=True)
            return
        await show_list(turn, bool(rest))
        return
    handlers = {"add": add, "move": move, "cancel": cancel, "place": place, "ics": ics}
    handler = handlers.get(action)
    if handler is None:
        await turn.say("meeting.usage", private=True)
        return
    if action in CHANGES and not await require_facilitator(turn, f"/meeting {action}"):
        return
    try:
        await handler(turn, rest)
    except MeetingError as error:
        await turn.say(error.key, private=True, limit=500)


# -- attendance ---------------------------------------------------------------------------


async def _takeaways_for_latecomers(turn: Turn, meeting: Meeting) -> None:
    """Marked after the take-away question went out: those marked now are asked too."""
    assert turn.community is not None
    ran = await turn.session.scalar(
        select(TimetableRun.id).where(TimetableRun.key == f"practice-ask:{meeting.id}")
    )
    if ran is not None:
        await practices.ask_takeaways(
            turn.session,
            turn.services.messenger,
            turn.community,
            meeting,
            turn.services.clock.now(),
        )


async def _mark(turn: Turn, meeting: Meeting, members: list[Member], unknown: list[str]) -> None:
    now = turn.services.clock.now()
    await attendance.mark_attended(turn.session, meeting, [m.id for m in members], now)
    came = await attendance.who_came(turn.session, meeting.id)
    await _takeaways_for_latecomers(turn, meeting)
    await turn.say(
        "attended.done",
        private=True,
        id=meeting.id,
        title=meeting.title,
        names=[m.display_name for m in came],
        count=len(came),
        unknown=unknown,
    )


async def attended(turn: Turn, args: str) -> None:
    """``/attended ID @member…`` marks who came; ``/attended ID`` offers the members
    as choices, those who said they would come first."""
    assert turn.community is not None
    words = args.split()
    if not words:
        await turn.say("attended.usage", private=True)
        return
    found = await _named_meeting(turn, words, "/attended")
    if found is None:
        return
    now = turn.services.clock.now()
    if found.starts_at > now or is_cancelled(found):
        await turn.say("attended.not_yet", private=True, id=found.id, title=found.title)
        return
    rest = args.split(maxsplit=1)[1] if len(words) > 1 else ""
    if rest.strip():
        named = await find_named(turn.session, turn.community.id, turn.event.platform, rest)
        if not named.members:
            await turn.say("attended.unknown", private=True, unknown=named.unknown or [rest])
            return
        await _mark(turn, found, named.members, named.unknown)
        return
    coming = await attendance.who_is_coming(turn.session, found.id)
    first = [*coming.yes, *coming.maybe]
    others = [
        m
        for m in await attendance.community_members(turn.session, turn.community.id)
        if m not in first and m not in coming.no
    ]
    offered = [*first, *others, *coming.no]
    await turn.reply(
        turn.t("attended.pick", id=found.id, title=found.title, several=len(offered) > 1),
        private=True,
        choices=tuple(Choice(str(m.id), m.display_name) for m in offered),
        multi_select=True,
        context={"kind": ContextKind.ATTENDED.value, "meeting_id": found.id},
    )


async def attended_chosen(turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]) -> None:
    """The facilitator picked who came from the list: a button press flips one member,
    a poll's answer is the whole selection, typed numbers add the members they name."""
    if turn.community is None or turn.member is None or not turn.member.is_facilitator:
        return
    found = await find_meeting(
        turn.session, turn.community.id, int((row.context or {}).get("meeting_id") or 0)
    )
    if found is None:
        return
    picked = {int(i) for i in choice_ids if i.isdigit()}
    offered = {int(c["id"]) for c in row.choices or [] if str(c.get("id", "")).isdigit()}
    members = [
        m
        for m in await attendance.community_members(turn.session, turn.community.id)
        if m.id in picked
    ]
    came = {m.id for m in await attendance.who_came(turn.session, found.id)}
    event = turn.event
    if isinstance(event, ChoiceSelected) and event.toggle:
        # Pressed again, a member's button takes the mark back.
        await attendance.unmark(turn.session, found, [m.id for m in members if m.id in came])
        members = [m for m in members if m.id not in came]
    elif isinstance(event, ChoiceSelected):
        await attendance.unmark(turn.session, found, (came & offered) - picked)
    elif not members:
        return
    await _mark(turn, found, members, [])


async def intent_chosen(turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]) -> None:
    """A member said whether they will come."""
    if turn.community is None or turn.member is None or not choice_ids:
        return
    found = await find_meeting(
        turn.session, turn.community.id, int((row.context or {}).get("meeting_id") or 0)
    )
    if found is None or row.member_id != turn.member.id:
        return
    now = turn.services.clock.now()
    if found.starts_at <= now or is_cancelled(found):
        await turn.note("attendance.closed", meeting=found.title)
        return
    try:
        intent = AttendanceIntent(choice_ids[-1])
    except ValueError:
        return
    await attendance.record_intent(turn.session, found, turn.member, intent, now)
    await turn.note("attendance.noted", intent=intent.value, meeting=found.title)


def register(registry: Registry) -> None:
    registry.command("meeting", meeting_command, usage=USAGE)
    registry.command(
        "attended", attended, usage="/attended ID [@member ...]", facilitator_only=True
    )
    registry.on_choice(ContextKind.ATTENDANCE, intent_chosen)
    registry.on_choice(ContextKind.ATTENDED, attended_chosen)
