"""Inbound requests on /slack/events: bolt verifies them, Indaba answers as Slack expects."""

from __future__ import annotations

import json
import time

import httpx

from tests.slack.conftest import CHANNEL, SIGNING_SECRET, Workspace, sign


async def test_bad_signature_is_refused(workspace: Workspace) -> None:
    body = json.dumps(workspace.envelope({"type": "app_mention", "text": "hi"})).encode()
    headers = {"Content-Type": "application/json", **sign(body, secret="not-the-secret")}
    response = await workspace.http.post(workspace.url, content=body, headers=headers)
    assert response.status_code == 401
    assert workspace.fake.calls_to("users.info") == []


async def test_stale_timestamp_is_refused(workspace: Workspace) -> None:
    body = json.dumps(workspace.envelope({"type": "app_mention", "text": "hi"})).encode()
    headers = {"Content-Type": "application/json", **sign(body, int(time.time()) - 600)}
    response = await workspace.http.post(workspace.url, content=body, headers=headers)
    assert response.status_code == 401


async def test_missing_signature_is_refused(workspace: Workspace) -> None:
    response = await workspace.http.post(
        workspace.url, content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401


async def test_malformed_json_is_a_bad_request(workspace: Workspace) -> None:
    body = b'{"type": "event_callback", "event": '
    response = await workspace.post(body, "application/json")
    assert response.status_code == 400
    # Malformed and unsigned is still refused as unsigned, before anything else.
    unsigned = await workspace.http.post(
        workspace.url, content=body, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401


async def test_unknown_event_types_are_acknowledged_and_ignored(workspace: Workspace) -> None:
    response = await workspace.event(
        {"type": "reaction_added", "user": "U0AMINA", "reaction": "tada", "event_ts": "1.2"}
    )
    assert response.status_code == 200
    assert workspace.fake.posted == []


async def test_url_verification_challenge(workspace: Workspace) -> None:
    body = json.dumps(
        {"token": "legacy", "challenge": "c-123", "type": "url_verification"}
    ).encode()
    response = await workspace.post(body, "application/json")
    assert response.status_code == 200
    assert "c-123" in response.text


async def test_slash_command_is_acknowledged_then_answered_ephemerally(
    workspace: Workspace,
) -> None:
    response = await workspace.command("U0AMINA", "/help")
    assert response.status_code == 200
    assert response.text == ""
    [reply] = workspace.fake.posted
    assert reply.ephemeral_to == "U0AMINA" and reply.channel == CHANNEL
    assert "/help" in reply.text or "help" in reply.text.lower()


async def test_command_in_a_dm_is_answered_in_the_dm(workspace: Workspace) -> None:
    dm = workspace.fake.dm_channel("U0AMINA")
    await workspace.command("U0AMINA", "/wall", channel=dm)
    [reply] = workspace.fake.posted
    assert reply.channel == dm and reply.ephemeral_to is None


async def test_signed_request_helper_matches_slack_sdk(workspace: Workspace) -> None:
    from slack_sdk.signature import SignatureVerifier

    body = b"payload"
    headers = sign(body)
    verifier = SignatureVerifier(SIGNING_SECRET)
    assert verifier.is_valid(
        body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )
    assert isinstance(workspace.http, httpx.AsyncClient)
