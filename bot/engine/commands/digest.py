"""/digest: a facilitator previews this week's digest."""

from __future__ import annotations

from bot.engine.registry import Registry
from bot.engine.services.digest import build_digest, render_digest
from bot.engine.turn import Turn


async def digest_command(turn: Turn, args: str) -> None:
    assert turn.community is not None
    digest = await build_digest(
        turn.session, turn.services.texts, turn.community, turn.services.clock.now()
    )
    if digest.empty:
        await turn.say("digest.empty", private=True)
        return
    await turn.reply(render_digest(turn.services.texts, turn.community, digest), private=True)


def register(registry: Registry) -> None:
    registry.command("digest", digest_command, usage="/digest", facilitator_only=True)
