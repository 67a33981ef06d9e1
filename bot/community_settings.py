"""Per-community choices kept in ``communities.settings``, with their defaults."""

from __future__ import annotations

from datetime import time
from typing import Any

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

    @field_validator("send_time")
    @classmethod
    def _time(cls, value: str) -> str:
        time.fromisoformat(value)
        return value

    @property
    def send_at(self) -> time:
        return time.fromisoformat(self.send_time)

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> CommunitySettings:
        return cls.model_validate(raw or {})
