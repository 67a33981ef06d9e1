"""/stop, /start, /lang, /anonymous and /meeting: a member's own settings and the calendar."""

from __future__ import annotations

from bot.engine import i18n
from bot.engine.commands.access import require_facilitator
from bot.engine.commands.onboarding import join
from bot.engine.community_settings import CommunitySettings
from bot.engine.registry import Registry
from bot.engine.services.meetings import (
    MeetingError,
    MeetingKind,
    add_meeting,
    local_time,
    next_meeting,
    parse_local,
)
from bot.engine.turn import Turn


async def stop(turn: Turn, args: str) -> None:
    assert turn.member is not None
    turn.member.opted_out = True
    await turn.say("stop.done", private=True)


async def start(turn: Turn, args: str) -> None:
    if args.strip():
        # Deep links (t.me/bot?start=CODE) arrive as /start CODE.
        await join(turn, args)
        return
    if turn.member is None:
        await turn.say("error.not_member", private=True)
        return
    turn.member.opted_out = False
    await turn.say("start.done", private=True)


async def lang(turn: Turn, args: str) -> None:
    assert turn.member is not None
    texts = turn.services.texts
    typed = args.strip().lower()
    # A language's code or its own name: "pt", "Português", "kiswahili".
    choice = next(
        (code for code in texts.languages if typed in (code, i18n.language_name(code).lower())),
        None,
    )
    if choice is None:
        await turn.say(
            "lang.usage",
            private=True,
            languages=texts.language_names(),
            current=i18n.language_name(turn.language),
        )
        return
    turn.member.language = choice
    await turn.say("lang.done", private=True)


async def tz(turn: Turn, args: str) -> None:
    """A member's own timezone: step DMs come at the step's hour in it."""
    assert turn.member is not None and turn.community is not None
    settings = CommunitySettings.of(turn.community.settings)
    typed = args.strip()
    if typed:
        found, close = i18n.find_zone(typed)
        if found is None:
            await turn.say("tz.unknown", private=True, typed=typed, suggestions=close)
            return
        turn.member.timezone = found
    now = i18n.local(turn.services.clock.now(), turn.community, turn.member)
    await turn.say(
        "tz.done" if typed else "tz.current",
        private=True,
        zone=str(now.tzinfo),
        own=i18n.valid_zone(turn.member.timezone) is not None,
        now=i18n.format_datetime(now, turn.language, zone=False),
        send_time=settings.send_time,
        quiet=[hour.strftime("%H:%M") for hour in settings.quiet or ()],
    )


async def anonymous(turn: Turn, args: str) -> None:
    assert turn.member is not None
    choice = args.strip().lower()
    if choice not in ("on", "off"):
        await turn.say("anonymous.usage", private=True, current=turn.member.anonymous)
        return
    turn.member.anonymous = choice == "on"
    await turn.say("anonymous.done", private=True, on=turn.member.anonymous)


async def meeting(turn: Turn, args: str) -> None:
    assert turn.community is not None
    now = turn.services.clock.now()
    words = args.split()
    if not words:
        upcoming = await next_meeting(turn.session, turn.community.id, now)
        if upcoming is None:
            await turn.say("meeting.none", private=True)
            return
        days = (upcoming.starts_at - now).days
        local = i18n.local(upcoming.starts_at, turn.community, turn.member)
        await turn.say(
            "meeting.next",
            private=True,
            title=upcoming.title,
            kind=upcoming.kind,
            days=days,
            when=i18n.format_datetime(local, turn.language, year=True, zone=False),
            timezone=str(local.tzinfo),
        )
        return
    if words[0] != "add" or len(words) < 3:
        await turn.say("meeting.usage", private=True)
        return
    if not await require_facilitator(turn, "/meeting add"):
        return
    kind = MeetingKind.MEETING
    title_words = words[3:]
    if title_words and title_words[0].lower() in ("workshop", "meeting"):
        kind = MeetingKind(title_words[0].lower())
        title_words = title_words[1:]
    try:
        starts_at = parse_local(turn.community, words[1], words[2])
        created = await add_meeting(
            turn.session, turn.community, starts_at, " ".join(title_words), kind, now
        )
    except MeetingError as error:
        await turn.say(error.key, private=True)
        return
    await turn.say(
        "meeting.added",
        title=created.title,
        kind=created.kind,
        when=i18n.format_datetime(
            local_time(turn.community, created.starts_at), turn.language, year=True
        ),
    )


def register(registry: Registry) -> None:
    registry.command("stop", stop, usage="/stop", group=False)
    registry.command("start", start, usage="/start", needs_member=False, group=False)
    registry.command("lang", lang, usage="/lang [LANGUAGE]", group=False)
    registry.command("tz", tz, usage="/tz [TIMEZONE]", group=False)
    registry.command("anonymous", anonymous, usage="/anonymous on|off", group=False)
    registry.command("meeting", meeting, usage="/meeting [add YYYY-MM-DD HH:MM [workshop] TITLE]")
