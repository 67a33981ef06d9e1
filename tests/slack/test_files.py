"""Files on Slack: a message with an attachment (a member's /mydata export, a meeting's
poster) is uploaded in Slack's three steps — files.getUploadURLExternal, the bytes to
the single-use URL, files.completeUploadExternal with the text as its comment — and
neither the file's data: URL nor the upload URL is ever logged."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from sqlalchemy import select

from bot.messages import Address, Attachment, ConversationKind, OutgoingMessage
from storage.models import OutboxMessage
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import CHANNEL, Workspace
from tests.slack.test_delivery import put
from tests.slack.test_month import AMINA, FATIMA, setup_cop

# Not Indaba's log: the fake's own access log, and the database driver's DEBUG lines,
# which quote each statement's parameters and which Indaba's log configuration keeps at
# INFO (tests/test_secrets_in_logs.py checks that); the harness leaves them on.
ELSEWHERE = ("aiohttp.access", "aiosqlite")


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if not r.name.startswith(ELSEWHERE)
    )


def nothing_of(caplog: pytest.LogCaptureFixture) -> None:
    """No data: URL, no upload URL, in any record (slack_sdk's DEBUG lines included)."""
    assert any(r.name.startswith("slack_sdk") for r in caplog.records), "slack_sdk logged"
    assert "base64," not in logged(caplog)
    assert "/upload/v1/" not in logged(caplog)


async def test_mydata_on_slack_is_a_json_file(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.dm(AMINA, "Water point maps for every ward")
    fake.posted.clear()
    fake.files.clear()
    fake.forget()
    await ws.command(AMINA, "/indaba mydata", channel=fake.dm_channel(AMINA))
    [shared] = fake.files
    assert shared.channel == fake.dm_channel(AMINA)
    assert re.fullmatch(r"indaba-my-data-\d{4}-\d\d-\d\d\.json", shared.filename)
    data = json.loads(shared.content)
    assert any(i.get("user_id") == AMINA for i in data["identities"])
    assert "Water point maps for every ward" in json.dumps(data, ensure_ascii=False)
    assert "Everything Indaba holds about you" in shared.initial_comment
    # The three steps, in order, each accepted.
    steps = [c.method for c in fake.log if c.method.startswith(("files.", "upload"))]
    assert steps == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    assert all(c.ok for c in fake.log if c.method in steps)
    [announced] = fake.calls("files.getUploadURLExternal")
    assert int(announced.params["length"]) == len(shared.content)
    nothing_of(caplog)


async def test_a_meeting_poster_arrives_as_a_pdf(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ws, fake = workspace, workspace.fake
    ws.h.indaba.links.base_url = f"http://127.0.0.1:{await ws.h.indaba.http_port()}"
    await setup_cop(ws)
    # The meeting's announcement carried its calendar invitation: a file in the channel.
    [invitation] = fake.files
    assert invitation.channel == CHANNEL and invitation.filename.endswith(".ics")
    assert invitation.content.startswith(b"BEGIN:VCALENDAR")
    fake.files.clear()
    await ws.command(FATIMA, "/indaba harvest poster")
    [shared] = fake.files
    assert shared.channel == fake.dm_channel(FATIMA)  # always to the facilitator's DM
    assert shared.filename.startswith("poster-") and shared.filename.endswith(".pdf")
    assert shared.content.startswith(b"%PDF")
    assert "The poster of November meeting" in shared.initial_comment
    link = re.search(r"https?://[^\s>|]+", shared.initial_comment)
    assert link is not None
    assert link.group(0) not in logged(caplog)
    nothing_of(caplog)


async def test_without_files_write_the_file_is_refused_and_kept(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    fake.scopes.discard("files:write")
    file = Attachment("data:application/json;base64,e30=", "x.json", "application/json")
    message = OutgoingMessage(
        Address("slack", ConversationKind.DM, AMINA), "Yours", attachment=file
    )
    await put(ws.h, message)
    await ws.h.settle()
    assert [c.error for c in fake.calls("files.getUploadURLExternal")] == ["missing_scope"]
    assert fake.files == []
    async with ws.h.indaba.sessions() as session:
        [row] = (await session.scalars(select(OutboxMessage))).all()
    assert row.status == "dead" and "missing_scope" in (row.last_error or "")


async def test_the_fakes_upload_url_is_single_use_and_sized(fake_slack: FakeSlack) -> None:
    async with httpx.AsyncClient() as http:
        api = fake_slack.url
        headers = {"Authorization": "Bearer xoxb-test-token"}
        missing = await http.post(api + "files.getUploadURLExternal", headers=headers, data={})
        assert missing.json()["error"] == "invalid_arguments"
        got = await http.post(
            api + "files.getUploadURLExternal",
            headers=headers,
            data={"filename": "a.txt", "length": "3"},
        )
        url, file_id = got.json()["upload_url"], got.json()["file_id"]
        assert (await http.post(url, content=b"four")).status_code == 400
        # A URL takes one upload, refused or not.
        assert (await http.post(url, content=b"abc")).status_code == 404
        files = json.dumps([{"id": file_id, "title": "a"}])
        done = await http.post(
            api + "files.completeUploadExternal",
            headers=headers,
            data={"files": files, "channel_id": CHANNEL},
        )
        assert done.json()["error"] == "file_not_found"
    assert fake_slack.files == []
