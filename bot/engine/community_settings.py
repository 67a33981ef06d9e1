"""Per-community choices kept in ``communities.settings``, with their defaults."""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CommunitySettings(BaseModel):
    """The timetable offsets and other choices a community can change.

    Offsets are whole days before the meeting; each step runs at ``send_time`` in the
    community's timezone.
    """

    model_config = ConfigDict(extra="allow")

    questions_days_before: int = Field(default=7, ge=1, le=60)
    reminder_days_before: int = Field(default=3, ge=0, le=60)
    brief_days_before: int = Field(default=1, ge=0, le=60)
    send_time: str = "09:00"
    # No step DM reaches a member between these local hours ("" turns it off); what
    # falls in them waits for the morning instead of being dropped.
    quiet_hours: str = "21:00-07:00"
    # Facilitators get the brief; they are asked the questions only when this is on.
    ask_facilitators: bool = False

    # The co-built agenda: proposals open, voting opens, voting closes (days before).
    agenda_open_days_before: int = Field(default=14, ge=1, le=90)
    agenda_vote_days_before: int = Field(default=7, ge=1, le=90)
    agenda_close_days_before: int = Field(default=2, ge=0, le=90)
    agenda_voting: Literal["approval", "dots"] = "approval"
    agenda_dots: int = Field(default=3, ge=1, le=20)
    # Whether members see the counts while voting is open (only how many have voted
    # when off); the ranking shows them once voting closes.
    agenda_results_while_voting: bool = True
    # An anonymous ballot: who voted for what is forgotten when voting closes, and only
    # the tallies are kept with the ranking.
    agenda_anonymous: bool = False
    # The wall: every member is invited to refresh their entry this long before each
    # workshop (0 turns it off) and at least every ``wall_refresh_days`` days.
    wall_refresh_days_before_workshop: int = Field(default=10, ge=0, le=90)
    wall_refresh_days: int = Field(default=91, ge=0, le=365)
    # The weekly digest (0 = Monday) and the member-led weekly question.
    digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_time: str = "09:00"
    question_weekday: int = Field(default=2, ge=0, le=6)
    question_time: str = "10:00"
    question_decline_weeks: int = Field(default=8, ge=0, le=52)
    # Hours after a meeting starts when attendees are asked for their take-away practice.
    practice_ask_hours_after: int = Field(default=3, ge=0, le=72)
    # The brief names members who neither answered, proposed nor voted in this many
    # meetings in a row, so the facilitator can invite them.
    quiet_meetings: int = Field(default=3, ge=1, le=24)
    # Retention (see bot.engine.services.privacy.prune): answers to the questions of
    # meetings older than this many months are deleted (0 keeps them); finished
    # outbox messages lose their text after ``delivered_text_days``.
    answers_retention_months: int = Field(default=24, ge=0, le=240)
    delivered_text_days: int = Field(default=30, ge=1, le=3650)
    # Re-opening templates (WhatsApp's billed messages) a month before they wait for
    # the next month or the member's own message; 0 for no cap (see services.costs).
    monthly_template_cap: int = Field(
        default=0,
        ge=0,
        le=1_000_000,
        description="re-opening templates a month, billed by WhatsApp: 0 for no cap (default 0)",
    )
    # The community's own privacy notice per language (``/privacy set``), replacing
    # the template of prompts/texts/<language>/privacy.yaml.
    privacy_notice: dict[str, str] = Field(default_factory=dict)

    @field_validator("send_time", "digest_time", "question_time")
    @classmethod
    def _time(cls, value: str) -> str:
        time.fromisoformat(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if value:
            start, end = value.split("-")
            time.fromisoformat(start.strip())
            time.fromisoformat(end.strip())
        return value

    def order_problems(self) -> list[tuple[str, str]]:
        """What is out of order in the timetable, as (setting, why) in plain words: the
        reminder after the questions, the brief after the reminder, agenda voting after
        its proposals and closing after it opens.

        Kept apart from field validation, so settings stored before this check still
        load; whoever changes settings calls it.
        """
        problems = []
        q, r, b = self.questions_days_before, self.reminder_days_before, self.brief_days_before
        if r >= q:
            problems.append(
                (
                    "reminder_days_before",
                    f"the reminder ({_days(r)} before the meeting) must come after the "
                    f"questions ({_days(q)} before), so fewer days before than them",
                )
            )
        if b >= r:
            problems.append(
                (
                    "brief_days_before",
                    f"the brief ({_days(b)} before the meeting) must come after the "
                    f"reminder ({_days(r)} before), so fewer days before than it",
                )
            )
        o, v, c = (
            self.agenda_open_days_before,
            self.agenda_vote_days_before,
            self.agenda_close_days_before,
        )
        if v >= o:
            problems.append(
                (
                    "agenda_vote_days_before",
                    f"agenda voting ({_days(v)} before the meeting) must open after the "
                    f"proposals ({_days(o)} before), so fewer days before than them",
                )
            )
        if c >= v:
            problems.append(
                (
                    "agenda_close_days_before",
                    f"agenda voting must close ({_days(c)} before the meeting) after it "
                    f"opens ({_days(v)} before), so fewer days before",
                )
            )
        return problems

    @property
    def quiet(self) -> tuple[time, time] | None:
        """The quiet hours as (from, until) local times, or None when there are none."""
        if not self.quiet_hours:
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())

    @property
    def send_at(self) -> time:
        return time.fromisoformat(self.send_time)

    @property
    def digest_at(self) -> time:
        return time.fromisoformat(self.digest_time)

    @property
    def question_at(self) -> time:
        return time.fromisoformat(self.question_time)

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> CommunitySettings:
        return cls.model_validate(raw or {})


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"
