"""The app manifest declares what the adapter handles."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.adapter import EVENTS_PATH
from bot.engine.commands import build_registry

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"


def test_manifest_declares_every_command_and_event() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    declared = [c["command"].lstrip("/") for c in manifest["features"]["slash_commands"]]
    assert sorted(declared) == sorted(info.name for info in build_registry().visible())
    assert all(c["url"].endswith(EVENTS_PATH) for c in manifest["features"]["slash_commands"])
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert {"message.im", "app_mention", "member_joined_channel"} <= set(
        settings["event_subscriptions"]["bot_events"]
    )
    assert settings["interactivity"]["is_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "im:write", "im:history", "users:read"} <= scopes
