"""``indaba audit`` and ``indaba moderate``: who hid, removed or restored what, and when;
and the operator's own moderation."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app.cli.common import Fatal, in_session, read_settings
from bot.engine.services import moderation, onboarding
from bot.engine.services.moderation import ModerationError
from bot.engine.texts import Texts
from bot.runtime.clock import SystemClock
from storage.models import Community, Member
from storage.statuses import ItemKind, ModerationAction


async def _community(session: AsyncSession, name_or_id: str) -> Community:
    community = await onboarding.find_community(session, name_or_id)
    if community is None:
        raise Fatal(f"no community named {name_or_id!r}")
    return community


def audit(
    community: Annotated[
        str | None, typer.Option("--community", "-c", help="community name or id (default: all)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="how many entries, newest first")] = 200,
) -> None:
    """List the moderation log: who hid, removed or restored which item, and when."""

    async def job(session: AsyncSession) -> list[str]:
        found = await _community(session, community) if community else None
        rows = await moderation.audit_log(session, found.id if found else None, limit)
        names: dict[int | None, str] = {None: "operator"}
        communities: dict[int, str] = {}
        lines = []
        for row in rows:
            for member_id in (row.actor_id, row.author_id):
                if member_id not in names:
                    member = await session.get(Member, member_id)
                    names[member_id] = member.display_name if member else "a former member"
            if row.community_id not in communities:
                place = await session.get(Community, row.community_id)
                communities[row.community_id] = place.name if place else str(row.community_id)
            author = names[row.author_id] if row.author_id is not None else "a former member"
            lines.append(
                f"{row.at:%Y-%m-%d %H:%M} UTC\t{communities[row.community_id]}\t"
                f"{names[row.actor_id]}\t{row.action}\t{row.kind} #{row.item_id}\tby {author}"
            )
        return lines

    lines = in_session(read_settings(), job)
    for line in lines:
        typer.echo(line)
    if not lines:
        typer.echo("nothing moderated yet")


def moderate(
    action: Annotated[ModerationAction, typer.Argument(help="hide, remove or restore")],
    kind: Annotated[ItemKind, typer.Argument(help="answer, practice, agenda or wall")],
    item_id: Annotated[int, typer.Argument(help="the item's number, as /moderate takes it")],
    community: Annotated[str, typer.Option("--community", "-c", help="community name or id")],
) -> None:
    """Hide, remove or restore an item as the operator (written to the audit log)."""
    settings = read_settings()
    texts = Texts(settings.prompts_dir)

    async def job(session: AsyncSession) -> None:
        found = await _community(session, community)
        item = await moderation.find(session, found, kind, item_id)
        if item is None:
            raise Fatal(f"no {kind} #{item_id} in {found.name}")
        try:
            await moderation.apply(session, found, None, action, item, SystemClock().now())
        except ModerationError as error:
            name = texts.render("item.kind", kind=kind)
            raise Fatal(texts.render(error.key, kind=name, number=item_id)) from None
        await session.commit()

    in_session(settings, job)
    typer.echo(f"{action}: {kind} #{item_id}")
