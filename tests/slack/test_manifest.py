"""The app manifest declares what the adapter handles."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.adapter import EVENTS_PATH
from adapters.slack.commands import COMMANDS
from bot.engine.registry import COMMANDS as ENGINE_COMMANDS

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"


def test_manifest_declares_every_command_and_event() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    declared = [c["command"].lstrip("/") for c in manifest["features"]["slash_commands"]]
    assert declared == list(COMMANDS)
    assert all(c["url"].endswith(EVENTS_PATH) for c in manifest["features"]["slash_commands"])
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert {"message.im", "app_mention", "member_joined_channel"} <= set(
        settings["event_subscriptions"]["bot_events"]
    )
    assert settings["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "im:history", "users:read"} <= scopes


def test_every_engine_command_has_a_slash_command() -> None:
    missing = {name for name, c in ENGINE_COMMANDS.items() if not c.hidden} - set(COMMANDS)
    assert not missing
