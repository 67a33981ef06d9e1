"""/help: what Indaba can do here, for this person."""

from __future__ import annotations

from bot.engine.registry import Registry
from bot.engine.turn import Turn


async def help_command(turn: Turn, args: str) -> None:
    name = args.strip().lstrip("/").lower()
    if name:
        entry = turn.services.command(name)
        if entry is None:
            await turn.say("error.unknown_command", private=True, command=name, suggestion="")
            return
        await turn.say(
            "help.one",
            private=True,
            usage=entry.usage,
            text=turn.t(f"help.{entry.name}")
            if turn.services.texts.has(f"help.{entry.name}")
            else "",
            facilitator_only=entry.facilitator_only,
        )
        return
    facilitator = turn.member is not None and turn.member.is_facilitator
    lines = [
        (
            entry.usage,
            turn.t(f"help.{entry.name}") if turn.services.texts.has(f"help.{entry.name}") else "",
        )
        for entry in turn.services.commands()
        if facilitator or not entry.facilitator_only
    ]
    await turn.say(
        "help.all",
        private=True,
        lines=lines,
        member=turn.member is not None,
        facilitator=facilitator,
        community=turn.community.name if turn.community else "",
    )


def register(registry: Registry) -> None:
    registry.command(
        "help", help_command, usage="/help [command]", needs_member=False, aliases=("commands",)
    )
