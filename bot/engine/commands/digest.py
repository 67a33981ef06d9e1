"""/digest: a facilitator previews this week's digest."""

from __future__ import annotations

from bot.engine.registry import command
from bot.engine.services.digest import build_digest, render_digest
from bot.engine.turn import Turn


@command("digest", usage="/digest", facilitator_only=True)
async def digest_command(turn: Turn, args: str) -> None:
    assert turn.community is not None
    digest = await build_digest(
        turn.session, turn.engine.texts, turn.community, turn.engine.clock.now()
    )
    if digest.empty:
        await turn.say("digest.empty", private=True)
        return
    await turn.reply(render_digest(turn.engine.texts, turn.community, digest), private=True)
