"""A member's own page (Slack's App Home tab): the next meeting, their open questions,
their wall entry and the current ballot; facilitators also see the brief's figures and
the buttons they use most. Sent where the platform has such a page; elsewhere ``/home``
answers with the same text as a message."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.engine import i18n
from bot.engine.community_settings import CommunitySettings
from bot.engine.registry import Registry
from bot.engine.services import agenda
from bot.engine.services.meetings import next_meeting
from bot.engine.services.questions import question_text
from bot.engine.turn import Turn
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage
from bot.runtime.outbox import Envelope
from storage.models import Prompt, Reply, WallEntry
from storage.statuses import RoundStatus


async def home(turn: Turn, args: str) -> None:
    event = turn.event
    choices: list[Choice] = []
    if turn.member is None or turn.community is None:
        text = turn.t("home.stranger")
    else:
        now = turn.services.clock.now()
        member, community = turn.member, turn.community
        meeting = await next_meeting(turn.session, community.id, now)
        open_questions: list[tuple[int, str]] = []
        # Without the counts while the community hides results until the close.
        ballot: list[tuple[int, str, int | None]] = []
        figures: tuple[int, int] | None = None
        if meeting is not None:
            rows = await turn.services.questions.answers(turn.session, meeting, member)
            open_questions = [
                (number, question_text(turn.services.texts, question, turn.language))
                for number, (question, prompt, reply) in enumerate(rows, start=1)
                if prompt is not None and reply is None
            ]
            found = await agenda.round_for(turn.session, meeting)
            if found is not None and found.status == RoundStatus.VOTING:
                shown = CommunitySettings.of(community.settings).agenda_results_while_voting
                ballot = [
                    (s.number, s.item.title, s.votes if shown else None)
                    for s in await agenda.standings(turn.session, found)
                ]
                if member.is_facilitator:
                    choices.append(Choice("/agenda close", turn.t("home.close_agenda")))
            if member.is_facilitator:
                asked = await turn.session.scalar(
                    select(func.count(func.distinct(Prompt.member_id))).where(
                        Prompt.meeting_id == meeting.id, Prompt.asked_at.is_not(None)
                    )
                )
                answered = await turn.session.scalar(
                    select(func.count(func.distinct(Prompt.member_id)))
                    .join(Reply, Reply.prompt_id == Prompt.id)
                    .where(Prompt.meeting_id == meeting.id)
                )
                figures = (int(asked or 0), int(answered or 0))
        entry = await turn.session.scalar(select(WallEntry).where(WallEntry.member_id == member.id))
        text = turn.t(
            "home.page",
            name=member.display_name,
            community=community.name,
            meeting=meeting.title if meeting is not None else "",
            starts=i18n.format_datetime(
                i18n.local(meeting.starts_at, community, member), turn.language
            )
            if meeting
            else "",
            questions=open_questions,
            wall=(entry.passions, entry.contributes, entry.needs) if entry else None,
            ballot=ballot,
            figures=figures,
        )
        choices = [
            Choice(f"/answer {number}", turn.t("home.answer", number=number))
            for number, _ in open_questions
        ] + choices
        if member.is_facilitator:
            choices.append(Choice("/harvest", turn.t("home.harvest")))
            choices.append(Choice("/brief", turn.t("home.brief")))
    if not turn.services.outbox.capabilities(event.platform).home_tab:
        await turn.reply(text, private=True)
        return
    await turn.services.outbox.put_one(
        turn.session,
        Envelope(
            f"home:{event.platform}:{event.sender.user_id}:{event.message_id or now_key(turn)}",
            OutgoingMessage(
                address=Address(event.platform, ConversationKind.HOME, event.sender.user_id),
                text=text,
                choices=tuple(choices),
            ),
            community_id=turn.community.id if turn.community else None,
            member_id=turn.member.id if turn.member else None,
        ),
    )


def now_key(turn: Turn) -> str:
    return str(turn.services.clock.now().timestamp())


def register(registry: Registry) -> None:
    registry.command("home", home, usage="/home", needs_member=False, hidden=True, group=False)
