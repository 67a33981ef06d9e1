"""/setup, /join, /link and /invite: joining a community safely."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.engine.registry import Registry
from bot.engine.services import directory, onboarding, wall
from bot.engine.services.onboarding import (
    CodeKind,
    OnboardingError,
    Redeemed,
    issue_code,
    redeem,
)
from bot.engine.turn import Turn
from bot.messages import ConversationKind
from storage.models import Community, Member


async def _redeem(turn: Turn, code: str, kind: CodeKind, now: datetime) -> Redeemed:
    """Use ``code`` for the sender (wrong codes are counted per sender)."""
    return await redeem(
        turn.session,
        code,
        kind,
        now,
        platform=turn.event.platform,
        user_id=turn.event.sender.user_id,
    )


async def setup(turn: Turn, args: str) -> None:
    """Link this group to a community and make the sender its facilitator.

    In a DM (WhatsApp has no groups) the code makes the sender a facilitator only.
    """
    now = turn.services.clock.now()
    linked = turn.space is not None and turn.space.community_id is not None and turn.in_group
    if linked and turn.member is not None and turn.member.is_facilitator:
        await turn.say("setup.already", community=turn.community.name if turn.community else "")
        return
    try:
        redeemed = await _redeem(turn, args, CodeKind.SETUP, now)
    except OnboardingError as error:
        await turn.say(error.key, private=True, command="setup")
        return
    community = redeemed.community
    if turn.in_group and turn.space is not None:
        turn.space.community_id = community.id
        turn.space.linked_at = now
    member, created = await directory.register(
        turn.session, community, turn.event.sender, now, role="facilitator"
    )
    turn.community, turn.member = community, member
    await turn.say(
        "setup.done_group" if turn.in_group else "setup.done_dm",
        community=community.name,
        name=member.display_name,
    )
    if created:
        await turn.services.welcome(turn.session, community, member)


async def join(turn: Turn, args: str) -> None:
    now = turn.services.clock.now()
    try:
        redeemed = await _redeem(turn, args, CodeKind.JOIN, now)
    except OnboardingError as error:
        await turn.say(error.key, private=True, command="join")
        return
    community = redeemed.community
    existing = await directory.member_in(
        turn.session, community.id, turn.event.platform, turn.event.sender.user_id
    )
    if existing is not None:
        turn.community, turn.member = community, existing
        if not await catch_up(turn, community, existing, now):
            await turn.say("join.already", private=True, community=community.name)
        return
    member, _ = await directory.register(turn.session, community, turn.event.sender, now)
    turn.community, turn.member = community, member
    await turn.services.welcome(turn.session, community, member)


async def catch_up(turn: Turn, community: Community, member: Member, now: datetime) -> bool:
    """What a new member gets that ``member`` (who joined through the group, or could not
    be reached until now) never had: the welcome, the wall invitation when they have no
    entry, and the questions of the next meeting when they are out. False when they had
    it all already (then nothing is sent)."""
    session, messenger = turn.session, turn.services.messenger
    welcomed = await onboarding.had(session, f"welcome:{member.id}", sent_only=True)
    stamp = turn.event.message_id or now.isoformat()
    sent = False
    if not await onboarding.had(session, f"welcome:{member.id}"):
        text = messenger.t(
            community, member, "welcome.dm", name=member.display_name, community=community.name
        )
        sent |= await messenger.to_member(
            session, community, member, f"welcome:{member.id}:{stamp}", text
        )
    meeting = await onboarding.still_asking(session, community.id, now)
    if meeting is not None and not member.opted_out:
        sent |= await turn.services.questions.catch_up(session, community, meeting, member, now) > 0
    entry = await wall.entry_of(session, member)
    invited = await onboarding.had(session, f"wall-invite:{member.id}")
    if (entry is None or entry.completed_at is None) and not invited:
        sent |= await wall.start_conversation(
            session, messenger, community, member, now, f"wall-invite:{member.id}:{stamp}"
        )
    # What was sent again when they became reachable is on its way too.
    return sent or not welcomed


async def invite(turn: Turn, args: str) -> None:
    """A new join code for the community (the previous one stops working)."""
    assert turn.community is not None
    days = turn.services.join_code_days
    code = await issue_code(
        turn.session,
        turn.community,
        CodeKind.JOIN,
        turn.services.clock.now(),
        timedelta(days=days),
        replace=True,
    )
    await turn.say("invite.code", private=True, code=code, days=days, community=turn.community.name)


async def link(turn: Turn, args: str) -> None:
    """Reach the same member on another platform: ``/link`` gives a code, ``/link CODE`` uses it."""
    now = turn.services.clock.now()
    if not args.strip():
        if turn.member is None or turn.community is None:
            await turn.say("error.not_member", private=True)
            return
        code = await issue_code(
            turn.session,
            turn.community,
            CodeKind.LINK,
            now,
            timedelta(hours=1),
            member_id=turn.member.id,
        )
        await turn.say("link.code", private=True, code=code)
        return
    if turn.event.conversation.kind is not ConversationKind.DM:
        await turn.say("link.dm_only", private=True)
        return
    try:
        redeemed = await _redeem(turn, args, CodeKind.LINK, now)
    except OnboardingError as error:
        await turn.say(error.key, private=True, command="link")
        return
    member = await turn.session.get(Member, redeemed.code.member_id or 0)
    if member is None:
        await turn.say("error.code_unknown", private=True)
        return
    if any(i.platform == turn.event.platform for i in member.identities):
        await turn.say("link.already", private=True, platform=turn.event.platform)
        return
    await directory.add_identity(turn.session, member, turn.event.sender, now)
    turn.community, turn.member = redeemed.community, member
    await turn.say(
        "link.done",
        private=True,
        name=member.display_name,
        platforms=sorted(i.platform for i in member.identities),
    )


def register(registry: Registry) -> None:
    registry.command("setup", setup, usage="/setup CODE", needs_member=False)
    registry.command(
        "join", join, usage="/join CODE", needs_member=False, aliases=("start_join",), group=False
    )
    registry.command("invite", invite, usage="/invite", facilitator_only=True)
    registry.command("link", link, usage="/link [CODE]", needs_member=False, group=False)
