"""Socket Mode: bolt's ``AsyncSocketModeHandler`` on slack_sdk's aiohttp client, with
the shape of each payload checked before bolt reads it.

Requests come over Slack's own authenticated WebSocket, so there is no signature to
check. Bolt acknowledges an envelope only when the app answered 200: a 503 (the sink
could not store the events) leaves it unacknowledged and Slack sends it again. A
payload of a wrong shape is acknowledged empty after one WARNING line, so Slack does
not send it again either.
"""

from __future__ import annotations

import logging
import time

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from adapters.slack.listeners import readable
from adapters.slack.normalise import Malformed, check

log = logging.getLogger(__name__)


class SocketMode(AsyncSocketModeHandler):
    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]  # bolt's own signature
        started = time.time()
        try:
            if not isinstance(req.payload, dict):
                raise Malformed("payload is not an object")
            check(req.payload)
            try:
                request = AsyncBoltRequest(
                    mode="socket_mode", body=req.payload, headers=build_headers(req)
                )
            except Exception as error:
                # Bolt reads fields without checking their types (``"id" in user``).
                name = type(error).__name__
                raise Malformed(f"bolt could not read the payload ({name})") from None
            readable(request)
        except Malformed as error:
            log.warning("bad Slack request over Socket Mode: %s", error)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        response: BoltResponse = await self.app.async_dispatch(request)
        if response.status == 400:
            # Malformed: logged by the app; acknowledged so Slack does not send it again.
            response = BoltResponse(status=200, body="")
        await send_async_response(client, req, response, started)
