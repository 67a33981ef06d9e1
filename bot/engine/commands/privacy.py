"""/mydata, /forget and /privacy: a member sees, takes away or erases what Indaba holds."""

from __future__ import annotations

from bot.engine.commands.access import require_facilitator
from bot.engine.registry import Registry
from bot.engine.services import directory, privacy
from bot.engine.turn import Turn
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import OutboxMessage
from storage.statuses import ContextKind

YES, NO = "yes", "no"


def _key(turn: Turn, what: str) -> str:
    """An idempotency key naming the event, not the account (no user id in it)."""
    event = turn.event
    base = event.message_id or str(turn.services.clock.now().timestamp())
    return f"{what}:{event.platform}:{base}"[:200]


def _here(turn: Turn) -> Address:
    event = turn.event
    return Address(event.platform, ConversationKind.DM, event.conversation.id)


async def mydata(turn: Turn, args: str) -> None:
    assert turn.member is not None
    now = turn.services.clock.now()
    person = await privacy.person_of(
        turn.session,
        member_ids=[turn.member.id],
        accounts=[(turn.event.platform, turn.event.sender.user_id)],
    )
    data = await privacy.export(turn.session, turn.services.texts, person, now, turn.language)
    figures = privacy.counts(data)
    attachment = privacy.export_attachment(data, now.date())
    text = turn.t(
        "privacy.mydata",
        filename=attachment.filename,
        communities=sorted({str(m.get("community", "")) for m in data["memberships"]}),
        figures={k: v for k, v in figures.items() if v},
    )
    await turn.services.outbox.put_one(
        turn.session,
        Envelope(
            _key(turn, "mydata"),
            OutgoingMessage(address=_here(turn), text=text, attachment=attachment),
            community_id=turn.community.id if turn.community else None,
            member_id=turn.member.id,
            context={"kind": ContextKind.MY_DATA.value},
        ),
    )


async def forget(turn: Turn, args: str) -> None:
    assert turn.member is not None
    person = await privacy.person_of(
        turn.session,
        member_ids=[turn.member.id],
        accounts=[(turn.event.platform, turn.event.sender.user_id)],
    )
    data = await privacy.export(
        turn.session, turn.services.texts, person, turn.services.clock.now(), turn.language
    )
    await turn.reply(
        turn.t(
            "privacy.forget.confirm",
            communities=sorted({str(m.get("community", "")) for m in data["memberships"]}),
            platforms=sorted({platform for platform, _ in person.accounts}),
            minutes=int(privacy.CONFIRM_WITHIN.total_seconds() // 60),
        ),
        choices=(
            Choice(YES, turn.t("privacy.forget.yes")),
            Choice(NO, turn.t("privacy.forget.no")),
        ),
        context={"kind": ContextKind.FORGET.value},
    )


async def forget_choice(turn: Turn, row: OutboxMessage, selection: tuple[str, ...]) -> None:
    if turn.member is None or not selection:
        return
    person = await privacy.person_of(
        turn.session,
        member_ids=[turn.member.id],
        accounts=[(turn.event.platform, turn.event.sender.user_id)],
    )
    # Only the person who was asked can confirm, and only for a while.
    if row.member_id not in person.member_ids:
        return
    now = turn.services.clock.now()
    if selection[-1] != YES:
        await turn.say("privacy.forget.kept")
        return
    if now - row.created_at > privacy.CONFIRM_WITHIN:
        await turn.say("privacy.forget.expired")
        return
    language = turn.language
    address = _here(turn)
    await privacy.erase(turn.session, turn.services.texts, person, now)
    turn.member = None
    # The farewell names no member; the retention step deletes it once it is sent.
    await turn.services.outbox.put_one(
        turn.session,
        Envelope(
            _key(turn, "farewell"),
            OutgoingMessage(
                address=address, text=turn.services.texts.render("privacy.forget.done", language)
            ),
            context={"kind": ContextKind.FAREWELL.value},
        ),
    )


async def privacy_notice(turn: Turn, args: str) -> None:
    words = args.split(maxsplit=1)
    action = words[0].lower() if words else ""
    if action in ("set", "reset"):
        await _set_notice(turn, action, words[1] if len(words) > 1 else "")
        return
    names: list[str] = []
    if turn.community is not None:
        names = [
            m.display_name for m in await directory.facilitators(turn.session, turn.community.id)
        ]
    await turn.reply(
        privacy.notice(turn.services.texts, turn.language, turn.community, names), private=True
    )


async def _set_notice(turn: Turn, action: str, text: str) -> None:
    if turn.community is None or not await require_facilitator(turn, "/privacy set"):
        return
    if action == "set" and not text.strip():
        await turn.say("privacy.set.usage", private=True)
        return
    settings = dict(turn.community.settings or {})
    own = dict(settings.get("privacy_notice") or {})
    if action == "set":
        own[turn.language] = text.strip()
    else:
        own.pop(turn.language, None)
    settings["privacy_notice"] = own
    # A new dict, so the JSON column is seen as changed.
    turn.community.settings = settings
    await turn.say(f"privacy.{action}.done", private=True, language=turn.language)


def register(registry: Registry) -> None:
    registry.command("mydata", mydata, usage="/mydata", group=False)
    registry.command("forget", forget, usage="/forget", group=False)
    registry.command(
        "privacy", privacy_notice, usage="/privacy [set TEXT|reset]", needs_member=False
    )
    registry.on_choice(ContextKind.FORGET, forget_choice)
