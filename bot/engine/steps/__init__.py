"""The steps of the timetable; ``build_steps`` lists every step Indaba runs."""

from __future__ import annotations

from bot.engine.context import Services
from bot.engine.steps.actions import ActionCheckStep
from bot.engine.steps.agenda import AgendaCloseStep, AgendaOpenStep, AgendaVoteStep
from bot.engine.steps.digest import DigestStep
from bot.engine.steps.practices import TakeawayStep
from bot.engine.steps.premeeting import BriefStep, QuestionsStep, ReminderStep
from bot.engine.steps.retention import RetentionStep
from bot.engine.steps.rotation import WeeklyQuestionStep
from bot.engine.steps.wall import WallRefreshStep
from bot.runtime.timetable import Step


def build_steps(services: Services) -> list[Step]:
    return [
        QuestionsStep(services.questions),
        ReminderStep(services.questions),
        BriefStep(services.messenger, links=services.links),
        AgendaOpenStep(services.messenger),
        AgendaVoteStep(services.messenger),
        AgendaCloseStep(services.messenger),
        TakeawayStep(services.messenger),
        WallRefreshStep(services.messenger),
        DigestStep(services.messenger),
        WeeklyQuestionStep(services.messenger),
        RetentionStep(),
        ActionCheckStep(services.messenger),
    ]
