"""/help: what Indaba can do here, for this person."""

from __future__ import annotations

from bot.engine.registry import COMMANDS, command
from bot.engine.turn import Turn


@command("help", usage="/help [command]", needs_member=False, aliases=("commands",))
async def help_command(turn: Turn, args: str) -> None:
    name = args.strip().lstrip("/").lower()
    if name:
        entry = COMMANDS.get(name)
        if entry is None:
            await turn.say("error.unknown_command", private=True, command=name, suggestion="")
            return
        await turn.say(
            "help.one",
            private=True,
            usage=entry.usage,
            text=turn.t(f"help.{entry.name}")
            if turn.engine.texts.has(f"help.{entry.name}")
            else "",
            facilitator_only=entry.facilitator_only,
        )
        return
    facilitator = turn.member is not None and turn.member.is_facilitator
    lines = [
        (
            entry.usage,
            turn.t(f"help.{entry.name}") if turn.engine.texts.has(f"help.{entry.name}") else "",
        )
        for entry in sorted(COMMANDS.values(), key=lambda c: c.name)
        if not entry.hidden and (facilitator or not entry.facilitator_only)
    ]
    await turn.say(
        "help.all",
        private=True,
        lines=lines,
        member=turn.member is not None,
        facilitator=facilitator,
        community=turn.community.name if turn.community else "",
    )
