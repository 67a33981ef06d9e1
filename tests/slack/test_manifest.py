"""The app manifest a workspace admin pastes, checked against Slack's manifest rules as
far as they can be checked offline (written down here), and against the adapter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.slack.adapter import EVENTS_PATH
from adapters.slack.settings import SlackSettings
from bot.engine.commands import build_registry
from tests.fakes.slack_api import RESERVED_COMMANDS

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"
README = Path(__file__).resolve().parents[2] / "README.md"

# Slack's manifest schema: lengths and patterns of the fields Indaba uses.
COMMAND = re.compile(r"^/[a-z0-9_-]{1,31}$")
LIMITS = {"name": 35, "description": 140, "display_name": 80}
# The scope each event subscription needs (Slack's event reference).
EVENT_SCOPES = {
    "app_home_opened": set(),
    "app_mention": {"app_mentions:read"},
    "member_joined_channel": {"channels:read", "groups:read"},
    "message.channels": {"channels:history"},
    "message.groups": {"groups:history"},
    "message.im": {"im:history"},
}
# What the adapter calls: chat.* (chat:write), conversations.open (im:write), users.info
# (users:read), users.conversations of IMs (im:read), the slash command (commands),
# files.getUploadURLExternal and files.completeUploadExternal (files:write).
METHOD_SCOPES = {"chat:write", "commands", "files:write", "im:write", "im:read", "users:read"}
REQUIRED_EVENTS = set(EVENT_SCOPES)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text())
    return loaded


def test_one_namespaced_command_and_no_built_in_name(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == [f"/{SlackSettings().command}"]
    for command in commands:
        assert COMMAND.match(command["command"])
        assert command["command"] not in RESERVED_COMMANDS
        assert command["url"].endswith(EVENTS_PATH) and command["url"].startswith("https://")
        assert len(command["description"]) <= 2000 and len(command["usage_hint"]) <= 1000
        assert command["should_escape"] is False


def test_the_usage_hint_offers_every_subcommand(manifest: dict[str, Any]) -> None:
    [command] = manifest["features"]["slash_commands"]
    offered = {part.split()[0] for part in command["usage_hint"].split(", ")}
    assert offered == {info.name for info in build_registry().visible()}
    # None of them needs a name of its own: a workspace may still add /agenda itself.
    assert "/join" in RESERVED_COMMANDS and "/invite" in RESERVED_COMMANDS


def test_events_scopes_and_surfaces(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    events = set(settings["event_subscriptions"]["bot_events"])
    assert events >= REQUIRED_EVENTS
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert settings["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://indaba.example.org/slack/events",
    }
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes >= METHOD_SCOPES
    for event in events:
        assert EVENT_SCOPES[event] <= scopes, event
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True and home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_display_fields_within_slack_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert len(info["name"]) <= LIMITS["name"]
    assert len(info["description"]) <= LIMITS["description"]
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])
    assert len(manifest["features"]["bot_user"]["display_name"]) <= LIMITS["display_name"]


def test_readme_steps_use_the_slack_form() -> None:
    section = README.read_text().split("\n## Slack\n", 1)[1].split("\n## ", 1)[0]
    # The bot is added with Slack's own /invite @Indaba, then everything is /indaba.
    assert "`/indaba setup CODE`" in section
    assert re.search(r"(?<!indaba )`/(setup|join|agenda|harvest) ", section) is None
