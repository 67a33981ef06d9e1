"""The Slack adapter: members answer in Slack, facilitators run the commands there."""

from __future__ import annotations

from adapters.slack.adapter import SlackAdapter
from adapters.slack.settings import load_slack_settings
from bot.adapter import Adapter


def create() -> Adapter | None:
    """The adapter when ``INDABA_SLACK_BOT_TOKEN`` is set, else None."""
    slack = load_slack_settings()
    if slack is None:
        return None
    return SlackAdapter(slack)


__all__ = ["SlackAdapter", "create"]
