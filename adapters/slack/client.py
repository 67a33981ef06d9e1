"""Sending to Slack: the Web API through slack_sdk's AsyncWebClient, paced, errors mapped.

Pacing: one token bucket per channel (Slack allows about one message per second per
channel) and one for the workspace. A send that would wait longer than ``max_wait``
is handed back to the delivery loop as :class:`RetryAfter` instead of holding a
delivery slot. A 429 empties the buckets for ``Retry-After`` seconds and raises
:class:`RetryAfter`, so the delivery loop waits that long and sends the message
again: nothing is lost. Only the continuation parts of a message split in several
are retried in place, so the parts already posted are never posted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.render import SlackMessage, render, render_single, to_mrkdwn
from bot.adapter import PermanentError, RetryAfter, TransientError, Unreachable
from bot.messages import ConversationKind, MessageRef, OutgoingMessage
from bot.pacing import KeyedBuckets, TokenBucket

log = logging.getLogger(__name__)

PLATFORM = "slack"

# The member or channel is gone for us: deactivated, deleted, left, archived.
UNREACHABLE_ERRORS = frozenset(
    {
        "account_inactive",
        "user_not_found",
        "user_disabled",
        "user_not_visible",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "cannot_dm_bot",
        "messages_tab_disabled",
    }
)
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
CONTINUATION_RETRIES = 5
PROFILE_TTL_SECONDS = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Profile:
    """What Indaba uses of a Slack user: a name to show and their timezone."""

    user_id: str
    display_name: str
    timezone: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Pacing:
    """Rates in messages per second; bursts in messages."""

    channel_rate: float = 1.0
    channel_burst: float = 1.0
    workspace_rate: float = 50.0
    workspace_burst: float = 50.0
    # conversations.open is Tier 3 (50+ per minute); opened DMs are cached.
    open_rate: float = 50 / 60
    open_burst: float = 50.0
    max_wait: float = 10.0


def _retry_after(error: SlackApiError) -> float:
    headers = getattr(error.response, "headers", None) or {}
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0)
    except (TypeError, ValueError):
        return 1.0


class SlackClient:
    def __init__(self, web: AsyncWebClient, pacing: Pacing | None = None) -> None:
        self.web = web
        self.pacing = pacing or Pacing()
        self._channels = KeyedBuckets(
            self.pacing.channel_rate, burst=self.pacing.channel_burst, size=50_000
        )
        self._workspace = TokenBucket(self.pacing.workspace_rate, burst=self.pacing.workspace_burst)
        self._opens = TokenBucket(self.pacing.open_rate, burst=self.pacing.open_burst)
        self._dms: dict[str, str] = {}
        self._profiles: dict[str, tuple[float, Profile]] = {}
        self.rate_limited = 0

    # -- the Web API, with Slack's errors mapped to delivery errors -------------------------

    async def call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        try:
            return await method(**kwargs)
        except SlackApiError as error:
            status = getattr(error.response, "status_code", 0)
            code = str(error.response.get("error") or "") if status != 429 else "ratelimited"
            if status == 429:
                self.rate_limited += 1
                raise RetryAfter(_retry_after(error), "slack: ratelimited") from None
            if status >= 500 or code in TRANSIENT_ERRORS:
                raise TransientError(f"slack: {code or status}") from None
            if code in UNREACHABLE_ERRORS:
                raise Unreachable(f"slack: {code}") from None
            raise PermanentError(f"slack: {code or status}") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TransientError(f"slack: {type(error).__name__}: {error}") from None

    async def _take(self, bucket: TokenBucket) -> None:
        try:
            await asyncio.wait_for(bucket.acquire(), self.pacing.max_wait)
        except TimeoutError:
            raise RetryAfter(self.pacing.max_wait, "slack: paced") from None

    async def _pace(self, channel: str) -> None:
        await self._take(self._channels.bucket(channel))
        await self._take(self._workspace)

    def _penalise(self, channel: str, seconds: float) -> None:
        self._channels.bucket(channel).penalise(seconds)
        self._workspace.penalise(seconds)

    # -- people and direct lines ------------------------------------------------------------

    async def open_dm(self, user_id: str) -> str:
        """The DM channel with a member (``conversations.open``), cached."""
        channel = self._dms.get(user_id)
        if channel is None:
            await self._take(self._opens)
            try:
                response = await self.call(self.web.conversations_open, users=user_id)
            except RetryAfter as error:
                self._opens.penalise(error.seconds)
                raise
            channel = str(response["channel"]["id"])
            self._dms[user_id] = channel
        return channel

    async def profile(self, user_id: str) -> Profile:
        """Name and timezone from ``users.info``, cached for a day; the id if it fails."""
        cached = self._profiles.get(user_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.call(self.web.users_info, user=user_id)
        except Exception as error:
            log.info("users.info %s failed: %s", user_id, error)
            return Profile(user_id, user_id)
        user = response.get("user") or {}
        details = user.get("profile") or {}
        name = (
            details.get("display_name")
            or details.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or user_id
        )
        profile = Profile(user_id, str(name), user.get("tz"), bool(user.get("is_bot")))
        self._profiles[user_id] = (time.monotonic() + PROFILE_TTL_SECONDS, profile)
        return profile

    # -- sending ------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        address = message.address
        if address.kind is ConversationKind.DM:
            channel = await self.open_dm(address.conversation_id)
        else:
            channel = address.conversation_id
        if address.ephemeral_to:
            return await self._ephemeral(channel, address.ephemeral_to, message)
        if message.edit_of:
            return await self._update(channel, message.edit_of, message)
        thread = address.thread_id or message.reply_to
        first_ts: str | None = None
        ref_ts = ""
        chunks = render(message)
        for index, chunk in enumerate(chunks):
            if index == 0:
                ts = await self._post(channel, chunk, thread)
                first_ts = ts
            else:
                ts = await self._post_continuation(channel, chunk, thread)
            ref_ts = ts if message.choices or index == 0 else ref_ts
        assert first_ts is not None
        return MessageRef(PLATFORM, channel, ref_ts or first_ts)

    async def _post(self, channel: str, chunk: SlackMessage, thread: str | None) -> str:
        await self._pace(channel)
        kwargs: dict[str, Any] = {"channel": channel, "text": chunk.text, "blocks": chunk.blocks}
        if thread:
            kwargs["thread_ts"] = thread
        try:
            response = await self.call(self.web.chat_postMessage, **kwargs)
        except RetryAfter as error:
            self._penalise(channel, error.seconds)
            raise
        return str(response["ts"])

    async def _post_continuation(
        self, channel: str, chunk: SlackMessage, thread: str | None
    ) -> str:
        for _ in range(CONTINUATION_RETRIES):
            try:
                return await self._post(channel, chunk, thread)
            except RetryAfter as error:
                await asyncio.sleep(error.seconds)
        return await self._post(channel, chunk, thread)

    async def _update(self, channel: str, ts: str, message: OutgoingMessage) -> MessageRef:
        rendered = render_single(message)
        await self._pace(channel)
        try:
            await self.call(
                self.web.chat_update,
                channel=channel,
                ts=ts,
                text=rendered.text,
                blocks=rendered.blocks,
            )
        except RetryAfter as error:
            self._penalise(channel, error.seconds)
            raise
        return MessageRef(PLATFORM, channel, ts)

    async def _ephemeral(self, channel: str, user: str, message: OutgoingMessage) -> MessageRef:
        rendered = render_single(message)
        await self._pace(channel)
        try:
            response = await self.call(
                self.web.chat_postEphemeral,
                channel=channel,
                user=user,
                text=rendered.text or to_mrkdwn(message.text),
                blocks=rendered.blocks,
            )
        except RetryAfter as error:
            self._penalise(channel, error.seconds)
            raise
        return MessageRef(PLATFORM, channel, str(response.get("message_ts") or ""))
