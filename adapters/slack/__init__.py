"""The Slack adapter: members answer in Slack, facilitators run the commands there."""

from __future__ import annotations

from adapters.slack.adapter import PLATFORM, SlackAdapter
from adapters.slack.settings import load
from bot.adapter import Adapter


def create() -> Adapter | None:
    """The adapter when ``INDABA_SLACK_BOT_TOKEN`` is set, else None."""
    settings = load()
    if settings is None:
        return None
    return SlackAdapter(settings)


__all__ = ["PLATFORM", "SlackAdapter", "create"]
