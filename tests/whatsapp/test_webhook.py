"""The webhook on Indaba's own HTTP server: verification, signatures, bodies."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import select

from storage.models import OutboxMessage
from tests.whatsapp.conftest import World


async def test_verification_handshake(world: World, http: httpx.AsyncClient) -> None:
    url = world.fake.webhook_url
    ok = await http.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "verify-me",
            "hub.challenge": "1158201444",
        },
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = await http.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403
    assert (await http.get(url)).status_code == 403


async def test_bad_signature_is_refused_and_nothing_reaches_the_engine(world: World) -> None:
    payload = world.fake._inbound(
        "2348030000001", "Amina", {"type": "text", "text": {"body": "/help"}}
    )
    missing = await world.fake.post_webhook(payload, signature="")
    forged = await world.fake.post_webhook(payload, signature="sha256=" + "0" * 64)
    assert (missing.status_code, forged.status_code) == (401, 401)
    assert await world.settle() == []


async def test_malformed_json_is_400(world: World) -> None:
    assert (await world.fake.post_webhook(b"{not json")).status_code == 400
    assert (await world.fake.post_webhook(b"[1, 2]")).status_code == 400


async def test_unknown_member_gets_told_how_to_join(world: World) -> None:
    sent = await world.say("2348030000001", "hello")
    [reply] = sent
    assert reply.to == "2348030000001" and "/join" in reply.text


async def test_status_only_payload_is_accepted_and_changes_nothing_unknown(world: World) -> None:
    response = await world.fake.report_status("wamid.UNKNOWN", "2348030000001", "delivered")
    assert response.status_code == 200
    assert await world.settle() == []


async def test_image_and_sticker_get_a_polite_text_only_answer(world: World) -> None:
    _, join = await world.h.create_community()
    await world.say("2348030000001", f"/join {join}", name="Amina")
    await world.fake.member_sends_media("2348030000001", "image")
    await world.fake.member_sends_media("2348030000001", "sticker")
    sent = await world.settle()
    assert len(sent) == 2
    assert all("only read text" in c.text for c in sent)
    assert "image" in sent[0].text and "sticker" in sent[1].text


async def test_redelivered_webhook_is_handled_once(world: World) -> None:
    payload = world.fake._inbound(
        "2348030000001", "Amina", {"type": "text", "text": {"body": "hi"}}
    )
    for _ in range(3):
        assert (await world.fake.post_webhook(payload)).status_code == 200
    assert len(await world.settle()) == 1
    # The same body with its bytes reordered is still the same wamid.
    again = json.dumps(payload, indent=1).encode()
    assert (await world.fake.post_webhook(again)).status_code == 200
    assert await world.settle() == []
    async with world.h.indaba.sessions() as session:
        assert len((await session.scalars(select(OutboxMessage))).all()) == 1
