"""/agenda: propose, withdraw, vote; facilitators open, close and merge."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.engine import i18n
from bot.engine.commands.access import require_facilitator
from bot.engine.commands.moderation import moderate
from bot.engine.community_settings import CommunitySettings
from bot.engine.registry import Registry
from bot.engine.services import actions, agenda
from bot.engine.services.agenda import AgendaError
from bot.engine.services.meetings import latest_meeting, next_meeting
from bot.engine.turn import Turn
from bot.messages import ChoiceSelected
from storage.models import AgendaRound, Meeting, OutboxMessage
from storage.statuses import ContextKind, ItemKind, ModerationAction, RoundStatus

USAGE = (
    "/agenda [add TITLE | withdraw N | vote N... | open | close | merge A B"
    " | hide|remove|restore N]"
)


async def _show(turn: Turn, meeting: Meeting, found: AgendaRound | None, changed: str = "") -> None:
    assert turn.community is not None and turn.member is not None
    settings = CommunitySettings.of(turn.community.settings)
    rows = await agenda.standings(turn.session, found) if found is not None else []
    mine = await agenda.my_votes(turn.session, found, turn.member) if found is not None else {}
    status = found.status if found is not None else "not_open"
    now = turn.services.clock.now()
    closing = agenda.closes_at(turn.community, meeting, settings, now)
    text = turn.t(
        "agenda.list",
        meeting=meeting.title,
        status=status,
        changed=changed,
        approval=settings.agenda_voting == "approval",
        dots=settings.agenda_dots,
        items=[
            (s.number, s.item.title, s.item.detail, s.votes, s.item.member_id == turn.member.id)
            for s in rows
        ],
        mine=[f"{n}×{d}" if d > 1 else str(n) for n, d in sorted(mine.items())],
        facilitator=turn.member.is_facilitator,
        hidden=not settings.agenda_results_while_voting,
        # Once closed, the ranking kept at close, best first.
        ranked=[
            (r["rank"], r["title"], r["votes"], r.get("proposer_id") == turn.member.id)
            for r in (found.ranking if found is not None else [])
        ],
        closes=i18n.local(closing, turn.community, turn.member) if closing else None,
        anonymous=found is not None and found.anonymous,
    )
    if status in (RoundStatus.PROPOSALS, "not_open"):
        # What the last meetings left to follow up, to propose from.
        last = await latest_meeting(turn.session, turn.community.id, now)
        follow_up = await actions.follow_up_text(
            turn.session,
            turn.services.texts,
            turn.community,
            turn.member,
            turn.language,
            last.starts_at if last is not None and last.starts_at <= now else None,
        )
        text = f"{text}\n\n{follow_up}" if follow_up else text
    if status == RoundStatus.VOTING and rows and not turn.in_group:
        # In a direct message the list doubles as a ballot: reply with numbers.
        await turn.reply(
            text,
            private=True,
            choices=agenda.ballot_choices(rows),
            context=agenda.ballot_context(meeting, found) if found is not None else {},
            multi_select=True,
        )
        return
    await turn.reply(text, private=True)


def _numbers(text: str) -> list[int] | None:
    parts = text.replace(",", " ").split()
    if not parts or not all(p.isdigit() for p in parts):
        return None
    return [int(p) for p in parts]


async def agenda_command(turn: Turn, args: str) -> None:
    assert turn.community is not None and turn.member is not None
    now = turn.services.clock.now()
    meeting = await next_meeting(turn.session, turn.community.id, now)
    if meeting is None:
        await turn.say("meeting.none", private=True)
        return
    settings = CommunitySettings.of(turn.community.settings)
    messenger = turn.services.messenger
    found = await agenda.round_for(turn.session, meeting)
    action, _, rest = args.strip().partition(" ")
    action = action.lower()
    try:
        if not action:
            await _show(turn, meeting, found)
        elif action == "add":
            if found is None or found.status == RoundStatus.CLOSED:
                raise AgendaError("agenda.not_open" if found is None else "agenda.closed_already")
            item = await agenda.add_item(turn.session, found, turn.member, rest, now)
            voting = found.status == RoundStatus.VOTING
            await turn.say(
                "agenda.added", private=True, number=item.number, title=item.title, voting=voting
            )
            if voting:
                await agenda.add_to_ballot(
                    turn.session, messenger, turn.community, meeting, found, settings, item, now
                )
        elif action == "withdraw":
            if found is None or not rest.strip().isdigit():
                raise AgendaError("agenda.usage")
            item = await agenda.withdraw(turn.session, found, turn.member, int(rest), now)
            await turn.say("agenda.withdrawn", private=True, title=item.title)
        elif action == "vote":
            numbers = _numbers(rest)
            if found is None or numbers is None:
                raise AgendaError("agenda.vote_usage")
            items = {item.number: item for item in await agenda.live_items(turn.session, found)}
            dots: dict[int, int] = {}
            for number in numbers:
                if number not in items:
                    raise agenda.no_such(list(items.values()), number)
                item_id = items[number].id
                dots[item_id] = dots.get(item_id, 0) + 1
            await agenda.set_votes(turn.session, found, settings, turn.member, dots, now)
            await _voted(turn, found)
            await _refresh(turn, found)
        elif action in set(ModerationAction):
            # /agenda hide|remove|restore N: moderation, by the number members see.
            if not rest.strip().isdigit():
                raise AgendaError("agenda.usage")
            await moderate(turn, ModerationAction(action), ItemKind.AGENDA, int(rest))
        elif action in ("open", "close", "merge"):
            if not await require_facilitator(turn, f"/agenda {action}"):
                return
            if action == "open":
                if found is None:
                    found, _ = await agenda.open_round(turn.session, turn.community, meeting, now)
                    await agenda.announce_proposals(
                        turn.session, messenger, turn.community, meeting, settings
                    )
                    await turn.say("agenda.opened_proposals", private=True, meeting=meeting.title)
                elif found.status == RoundStatus.PROPOSALS:
                    await agenda.start_voting(
                        turn.session, messenger, turn.community, meeting, settings, now
                    )
                    await turn.say("agenda.opened_voting", private=True, meeting=meeting.title)
                else:
                    raise AgendaError(
                        "agenda.closed_already"
                        if found.status == RoundStatus.CLOSED
                        else "agenda.voting_already"
                    )
            elif action == "close":
                if found is None or found.status != RoundStatus.VOTING:
                    raise AgendaError("agenda.not_voting")
                rows = await agenda.finish(
                    turn.session, messenger, turn.community, meeting, found, now
                )
                # Where the ranking already reaches her as a DM (no group to see it in),
                # a second private copy would be the same message twice.
                reached = await turn.session.scalar(
                    select(OutboxMessage.id).where(
                        OutboxMessage.idempotency_key
                        == f"agenda-ranking:{meeting.id}:member:{turn.member.id}"
                    )
                )
                if reached is None:
                    await turn.reply(
                        agenda.render_ranking(
                            turn.services.texts,
                            turn.language,
                            meeting,
                            rows,
                            dots=settings.agenda_voting == "dots",
                        ),
                        private=True,
                    )
            else:
                numbers = _numbers(rest)
                if found is None or numbers is None or len(numbers) != 2:
                    raise AgendaError("agenda.merge_usage")
                keep, drop = await agenda.merge(turn.session, found, settings, *numbers)
                await turn.say("agenda.merged", private=True, keep=keep.title, drop=drop.title)
        else:
            raise AgendaError("agenda.usage")
    except AgendaError as error:
        values: dict[str, Any] = dict(error.values)
        await turn.say(error.key, private=True, **values)


async def _voted(turn: Turn, found: AgendaRound) -> None:
    assert turn.member is not None
    mine = await agenda.my_votes(turn.session, found, turn.member)
    await turn.say(
        "agenda.voted",
        private=True,
        mine=[f"{n}×{d}" if d > 1 else str(n) for n, d in sorted(mine.items())],
    )


async def _refresh(turn: Turn, found: AgendaRound) -> None:
    """The ballots posted as buttons show the new counts."""
    assert turn.community is not None
    meeting = await turn.session.get(Meeting, found.meeting_id)
    if meeting is None:
        return
    stamp = turn.event.message_id or str(turn.services.clock.now().timestamp())
    await agenda.refresh_ballots(
        turn.session,
        turn.services.messenger,
        turn.community,
        meeting,
        found,
        CommunitySettings.of(turn.community.settings),
        f"{turn.member.id if turn.member else 0}:{stamp}",
        turn.services.clock.now(),
    )


async def ballot_pressed(turn: Turn, row: OutboxMessage, choice_ids: tuple[str, ...]) -> None:
    assert turn.community is not None and turn.member is not None
    found = await turn.session.get(AgendaRound, int(row.context.get("round_id", 0)))
    if found is None:
        return
    settings = CommunitySettings.of(turn.community.settings)
    now = turn.services.clock.now()
    event = turn.event
    pressed = isinstance(event, ChoiceSelected) and event.toggle
    try:
        if pressed:
            for choice_id in choice_ids:
                await agenda.toggle_vote(
                    turn.session, found, settings, turn.member, int(choice_id), now
                )
        else:
            scope = [int(c["id"]) for c in row.choices or []]
            await agenda.set_votes(
                turn.session,
                found,
                settings,
                turn.member,
                {int(c): 1 for c in choice_ids},
                now,
                scope=scope,
            )
    except AgendaError as error:
        if pressed:
            await turn.note(error.key, **dict(error.values))
        else:
            await turn.say(error.key, private=True, **dict(error.values))
        return
    if pressed and turn.can_note and len(choice_ids) == 1:
        await _pressed_note(turn, found, settings, int(choice_ids[0]))
    elif not (isinstance(event, ChoiceSelected) and event.poll_id):
        # A native poll shows the member their own answer already.
        await _voted(turn, found)
    if pressed:
        await agenda.show_selection(
            turn.session,
            turn.services.messenger,
            row,
            turn.member,
            found,
            f"{turn.member.id}:{event.message_id or now.timestamp()}",
        )
    await _refresh(turn, found)


async def _pressed_note(
    turn: Turn, found: AgendaRound, settings: CommunitySettings, item_id: int
) -> None:
    """The note on the member's screen naming what the press did ("Voted for 3")."""
    assert turn.member is not None
    items = await agenda.live_items(turn.session, found)
    number = next((item.number or 0 for item in items if item.id == item_id), 0)
    mine = await agenda.my_votes(turn.session, found, turn.member)
    await turn.note(
        "agenda.pressed",
        dots=settings.agenda_voting == "dots",
        number=number,
        placed=mine.get(number, 0),
        left=max(settings.agenda_dots - sum(mine.values()), 0),
    )


def register(registry: Registry) -> None:
    registry.command("agenda", agenda_command, usage=USAGE)
    registry.on_choice(ContextKind.AGENDA_BALLOT, ballot_pressed)
