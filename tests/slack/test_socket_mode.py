"""Socket Mode: with an app-level token, requests come over the fake's WebSocket."""

from __future__ import annotations

from pathlib import Path

from adapters.slack import SlackAdapter
from tests.fakes.slack_api import APP_TOKEN, TEAM_ID, FakeSlack
from tests.harness import Harness
from tests.slack.conftest import CHANNEL, make_adapter


async def test_slash_command_over_socket_mode(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    adapter: SlackAdapter = make_adapter(fake_slack, app_token=APP_TOKEN)
    assert adapter.routes() == []
    h = await Harness.create(database_url, tmp_path, adapters=[adapter])
    try:
        assert fake_slack.calls_to("apps.connections.open")
        ack = await fake_slack.push(
            "slash_commands",
            {
                "team_id": TEAM_ID,
                "channel_id": CHANNEL,
                "channel_name": "cop",
                "user_id": "U0AMINA",
                "command": "/help",
                "text": "",
                "trigger_id": "socket.trigger.1",
            },
        )
        assert "envelope_id" in ack
        await adapter.idle()
        await h.settle()
    finally:
        await h.aclose()
    [reply] = fake_slack.posted
    assert reply.ephemeral_to == "U0AMINA"
