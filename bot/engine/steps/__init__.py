"""The steps of the timetable; ``build_steps`` lists every step Indaba runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.engine.steps.agenda import AgendaCloseStep, AgendaOpenStep, AgendaVoteStep
from bot.engine.steps.digest import DigestStep
from bot.engine.steps.practices import TakeawayStep
from bot.engine.steps.premeeting import BriefStep, QuestionsStep, ReminderStep
from bot.engine.steps.rotation import WeeklyQuestionStep
from bot.engine.steps.wall import WallRefreshStep
from bot.runtime.timetable import Step

if TYPE_CHECKING:
    from bot.engine.engine import Engine


def build_steps(engine: Engine) -> list[Step]:
    return [
        QuestionsStep(engine.questions),
        ReminderStep(engine.questions),
        BriefStep(engine.messenger),
        AgendaOpenStep(engine.messenger),
        AgendaVoteStep(engine.messenger),
        AgendaCloseStep(engine.messenger),
        TakeawayStep(engine.messenger),
        WallRefreshStep(engine.messenger),
        DigestStep(engine.messenger),
        WeeklyQuestionStep(engine.messenger),
    ]
