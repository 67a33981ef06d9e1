"""/moderate: facilitators hide, remove or restore what members filed; members remove
their own. ``/practice remove N`` and the like come here too."""

from __future__ import annotations

from bot.engine.commands.access import require_facilitator
from bot.engine.registry import Registry
from bot.engine.services import moderation
from bot.engine.services.brief import shown_name
from bot.engine.services.moderation import ModerationError
from bot.engine.turn import Turn
from storage.models import Member
from storage.statuses import ItemKind, ModerationAction

USAGE = "/moderate hide|remove|restore answer|practice|agenda|wall N | list KIND"


async def moderate(turn: Turn, action: ModerationAction, kind: ItemKind, number: int) -> None:
    """Apply ``action`` to the item, if the member may; say what was done."""
    assert turn.community is not None and turn.member is not None
    name = turn.t("item.kind", kind=kind)
    item = await moderation.find(turn.session, turn.community, kind, number)
    if item is None:
        await turn.say("moderate.no_such", private=True, kind=name, number=number)
        return
    if not moderation.may(turn.member, action, item) and not await require_facilitator(
        turn, f"/moderate {action}"
    ):
        return
    try:
        await moderation.apply(
            turn.session, turn.community, turn.member, action, item, turn.services.clock.now()
        )
    except ModerationError as error:
        await turn.say(error.key, private=True, kind=name, number=number)
        return
    await turn.say("moderate.done", private=True, action=action, kind=name, number=number)


async def listing(turn: Turn, kind: ItemKind) -> None:
    """``/moderate list KIND``: the latest items with the numbers to moderate them by."""
    assert turn.community is not None
    if not await require_facilitator(turn, "/moderate list"):
        return
    texts = turn.services.texts
    rows = []
    for item in await moderation.latest(turn.session, turn.community, kind):
        author = await turn.session.get(Member, item.author_id)
        who = shown_name(author, texts, turn.language) if author else ""
        rows.append((item.number, who, item.text, item.row.hidden_at is not None))
    await turn.say(
        "moderate.list",
        private=True,
        kinds=turn.t("item.kinds", kind=kind),
        kind=kind,
        rows=rows,
    )


async def moderate_command(turn: Turn, args: str) -> None:
    words = args.lower().replace("#", " ").split()
    if len(words) == 2 and words[0] == "list" and words[1] in set(ItemKind):
        await listing(turn, ItemKind(words[1]))
        return
    if (
        len(words) != 3
        or words[0] not in set(ModerationAction)
        or words[1] not in set(ItemKind)
        or not words[2].isdigit()
    ):
        await turn.say("moderate.usage", private=True)
        return
    await moderate(turn, ModerationAction(words[0]), ItemKind(words[1]), int(words[2]))


def register(registry: Registry) -> None:
    registry.command("moderate", moderate_command, usage=USAGE)
