"""/stop, /start, /lang, /tz and /anonymous: a member's own settings."""

from __future__ import annotations

from bot.engine import i18n
from bot.engine.commands.onboarding import join
from bot.engine.community_settings import CommunitySettings
from bot.engine.registry import Registry
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


def register(registry: Registry) -> None:
    registry.command("stop", stop, usage="/stop", group=False)
    registry.command("start", start, usage="/start", needs_member=False, group=False)
    registry.command("lang", lang, usage="/lang [LANGUAGE]", group=False)
    registry.command("tz", tz, usage="/tz [TIMEZONE]", group=False)
    registry.command("anonymous", anonymous, usage="/anonymous on|off", group=False)
