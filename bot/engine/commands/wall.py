"""/wall: the wall of passions; its DM conversation and the introductions it offers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, exists
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.commands.access import require_facilitator
from bot.engine.commands.moderation import moderate
from bot.engine.context import Services
from bot.engine.registry import Awaiting, Registry
from bot.engine.services import filing, introductions, wall
from bot.engine.services.brief import shown_name
from bot.engine.services.filing import is_skip
from bot.engine.services.links import Page
from bot.engine.services.wall import FIELDS, WallError
from bot.engine.turn import Turn
from storage.models import Community, Introduction, Member, OutboxMessage, WallEntry
from storage.statuses import ContextKind, ItemKind, ModerationAction

# A wall question left unanswered this long stops catching the member's messages.
OPEN_FOR = timedelta(days=7)


async def wall_command(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    now = turn.services.clock.now()
    texts = turn.services.texts
    words = args.strip().split(maxsplit=2)
    try:
        if not words:
            shared, alone = await wall.topics(turn.session, turn.community)
            rows = []
            for lone in alone:
                member = await turn.session.get(Member, lone.member_id)
                assert member is not None
                rows.append((shown_name(member, texts, turn.language), lone))
            await turn.say(
                "wall.show",
                private=True,
                topics=[
                    (t.word, [(shown_name(m, texts, turn.language), f) for m, f in t.holders])
                    for t in shared
                ],
                alone=[(name, e.passions, e.contributes, e.needs) for name, e in rows],
            )
            return
        if words[0].lower() in set(ModerationAction) and len(words) == 2:
            # /wall hide|remove|restore N: moderation, by the number /moderate list shows.
            if not words[1].lstrip("#").isdigit():
                raise WallError("wall.usage")
            action = ModerationAction(words[0].lower())
            await moderate(turn, action, ItemKind.WALL, int(words[1].lstrip("#")))
            return
        if words[0].lower() == "link" and len(words) == 1:
            await wall_link(turn)
            return
        if words[0].lower() != "me":
            raise WallError("wall.usage")
        entry = await wall.entry_of(turn.session, turn.member)
        if len(words) == 1:
            await turn.say(
                "wall.mine",
                private=True,
                passions=entry.passions if entry else None,
                contributes=entry.contributes if entry else None,
                needs=entry.needs if entry else None,
            )
            return
        if words[1].lower() == "remove" and len(words) == 2:
            if entry is not None:
                await moderate(turn, ModerationAction.REMOVE, ItemKind.WALL, entry.id)
            else:
                await turn.say("undo.nothing", private=True)
            return
        if words[1].lower() == "edit":
            await wall.start_conversation(
                turn.session,
                turn.services.messenger,
                turn.community,
                turn.member,
                now,
                f"wall-edit:{turn.member.id}:{now.isoformat()}",
                refresh=True,
            )
            return
        field = words[1].lower()
        if field not in FIELDS or len(words) < 3:
            raise WallError("wall.usage")
        if entry is None:
            entry = WallEntry(
                community_id=turn.community.id, member_id=turn.member.id, created_at=now
            )
            turn.session.add(entry)
        # Everything after the field name, as the member wrote it.
        text = args.strip()[len(words[0]) :].strip()[len(words[1]) :].strip()
        previous = getattr(entry, field)
        wall.set_field(entry, field, text, now)
        await turn.session.flush()
        await filing.record(
            turn.session, turn.member, ItemKind.WALL, entry.id, now, field=field, previous=previous
        )
        await turn.say("wall.saved", private=True)
        await introductions.offer_for(
            turn.session, turn.services.messenger, turn.community, entry, now
        )
    except WallError as error:
        await turn.say(error.key, private=True, **dict(error.values))


async def wall_link(turn: Turn) -> None:
    """``/wall link`` (facilitators): a signed link to the wall page and the journey."""
    assert turn.community is not None
    if not await require_facilitator(turn, "/wall link"):
        return
    links = turn.services.links
    if links is None:
        await turn.say("web.off", private=True)
        return
    expires = links.expiry(turn.services.clock.now())
    url = links.community(turn.community.id, expires, Page.WALL)
    await turn.say("wall.link", private=True, days=links.default_days, url=url)


def may_answer(turn: Turn) -> ColumnElement[bool] | bool:
    """Whether :func:`wall_answer` may find a wall question open (for the engine's one
    query): the member's entry asks a field, since less than :data:`OPEN_FOR`."""
    if turn.member is None or turn.community is None:
        return False
    now = turn.services.clock.now()
    return exists().where(
        WallEntry.member_id == turn.member.id,
        WallEntry.pending_field.is_not(None),
        WallEntry.pending_since >= now - OPEN_FOR,
        WallEntry.pending_since <= now,
    )


async def wall_answer(turn: Turn) -> Awaiting | None:
    if turn.member is None or turn.community is None:
        return None
    entry = await wall.entry_of(turn.session, turn.member)
    now = turn.services.clock.now()
    if entry is None or entry.pending_field is None or entry.pending_since is None:
        return None
    if entry.pending_since < now - OPEN_FOR or entry.pending_since > now:
        # Long unanswered, or an invitation still waiting for the member's hour.
        return None

    async def answer(text: str) -> None:
        assert turn.community is not None and turn.member is not None and entry is not None
        field = entry.pending_field
        previous = getattr(entry, field) if field else None
        try:
            following = await wall.record(turn.session, entry, text, now)
        except WallError as error:
            await turn.say(error.key, **dict(error.values))
            return
        saved = ""
        if field is not None and not is_skip(text):
            await filing.record(
                turn.session,
                turn.member,
                ItemKind.WALL,
                entry.id,
                now,
                field=field,
                previous=previous,
            )
            saved = turn.t("filing.saved_wall", field=turn.t("wall.field", field=field)) + "\n\n"
        if following is not None:
            current = getattr(entry, following) or ""
            await turn.reply(saved + turn.t(f"wall.ask.{following}", current=current))
            return
        await turn.reply(saved + turn.t("wall.done"))
        await introductions.offer_for(
            turn.session, turn.services.messenger, turn.community, entry, now
        )

    return Awaiting(entry.pending_since, answer, ItemKind.WALL)


async def invite_to_wall(
    services: Services, session: AsyncSession, community: Community, member: Member
) -> None:
    await wall.start_conversation(
        session,
        services.messenger,
        community,
        member,
        services.clock.now(),
        f"wall-invite:{member.id}",
    )


async def introduction_answered(
    turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]
) -> None:
    assert turn.community is not None and turn.member is not None
    intro = await turn.session.get(Introduction, int(row.context.get("introduction_id", 0)))
    if intro is None or turn.member.id not in (intro.member_a_id, intro.member_b_id):
        return
    if not choice_ids:
        return
    key = await introductions.answer(
        turn.session,
        turn.services.messenger,
        turn.community,
        intro,
        turn.member,
        choice_ids[-1] == "accept",
        turn.services.clock.now(),
    )
    if key:
        await turn.say(key, private=True)


def register(registry: Registry) -> None:
    registry.command(
        "wall",
        wall_command,
        usage=(
            "/wall [me | me edit | me remove | me passions|contributes|needs TEXT | link"
            " | hide|remove|restore N]"
        ),
    )
    registry.awaiting(wall_answer, may_find=may_answer)
    registry.on_join(invite_to_wall)
    registry.on_choice(ContextKind.INTRODUCTION, introduction_answered)
