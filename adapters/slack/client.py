"""Talking to Slack: the Web API through slack_sdk's AsyncWebClient, ``response_url``
through its AsyncWebhookClient; paced per method tier, errors mapped to delivery errors.

Pacing: one token bucket per channel (Slack allows about one message per second per
channel), one for the workspace, and one per rate-limited method at its tier
(``conversations.open``, ``users.conversations`` and ``chat.update`` are Tier 3,
``views.*`` and ``users.info`` Tier 4). A send that would wait longer than ``max_wait``
is handed back to the delivery loop as :class:`RetryAfter` instead of holding a
delivery slot. A 429 empties the buckets for ``Retry-After`` seconds and raises
:class:`RetryAfter`, so the delivery loop waits that long and sends the message
again: nothing is lost. Only the continuation parts of a message split in several
are retried in place, so the parts already posted are never posted twice.

Answers to a member's command or press go through the payload's ``response_url``
(it works in any conversation, the bot a member of it or not) while it lasts: five
posts within 30 minutes. Past that an ephemeral answer is posted with
``chat.postEphemeral``, and where the bot is not in the channel, as a DM.

A message with a file (``attachment``: a member's data export, a meeting's poster) is
uploaded the way Slack asks since 2025, in three steps: ``files.getUploadURLExternal``
(name and length), the bytes POSTed to the single-use URL it answers, then
``files.completeUploadExternal`` shares the file in the channel with the message's text
as its comment (slack_sdk's ``files_upload_v2`` does the three). Files cannot be
ephemeral: one meant for a member alone goes to their DM. The upload URL and the file's
``data:`` URL are never logged: the uploads' client logs at INFO at most.

DM channel ids: Slack keeps them, so at start the bot's open DMs are listed
(``users.conversations``, 200 a page at Tier 3) instead of re-opening each one with
``conversations.open`` (Tier 3, one member per call) before the first fan-out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.render import (
    SlackMessage,
    home_view,
    render,
    render_single,
    reply_body,
    to_mrkdwn,
)
from adapters.slack.reply_urls import ReplyUrls
from bot.adapter import (
    AccountGone,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
    attachment_bytes,
)
from bot.messages import Attachment, ConversationKind, MessageRef, OutgoingMessage
from bot.pacing import KeyedBuckets, TokenBucket

log = logging.getLogger(__name__)
# slack_sdk logs each response_url (a capability to post as Indaba) at DEBUG: not ours.
_webhook_log = logging.getLogger(f"{__name__}.response_url")
_webhook_log.setLevel(logging.INFO)
# ... and each upload URL (and the response naming it) at DEBUG: not ours either.
_upload_log = logging.getLogger(f"{__name__}.uploads")
_upload_log.setLevel(logging.INFO)
UPLOAD_TIMEOUT = 60

# The account itself is gone: deactivated or deleted (never nudge them in a channel).
GONE_ERRORS = frozenset({"account_inactive", "user_not_found", "user_disabled", "cannot_dm_bot"})
# The member or channel cannot be reached for now: left, archived, hidden.
UNREACHABLE_ERRORS = frozenset(
    {
        "user_not_visible",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "messages_tab_disabled",
    }
)
# Where the bot cannot post an ephemeral answer: the member gets it as a DM instead.
NOT_THERE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
CONTINUATION_RETRIES = 5
PROFILE_TTL_SECONDS = 24 * 3600.0
DM_PAGE = 200
HOMES_KEPT = 50_000


@dataclass(frozen=True, slots=True)
class Profile:
    """What Indaba uses of a Slack user: a name to show and their timezone."""

    user_id: str
    display_name: str
    timezone: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Pacing:
    """Rates in messages per second; bursts in messages; ``tiers`` in calls per minute."""

    channel_rate: float = 1.0
    channel_burst: float = 1.0
    workspace_rate: float = 50.0
    workspace_burst: float = 50.0
    # conversations.open is Tier 3 (50+ per minute); opened DMs are kept.
    open_rate: float = 50 / 60
    open_burst: float = 50.0
    max_wait: float = 10.0
    tiers: dict[str, float] = field(
        default_factory=lambda: {
            "users.conversations": 50.0,
            "chat.update": 50.0,
            "views.open": 100.0,
            "views.publish": 100.0,
            "users.info": 100.0,
        }
    )


def _retry_after(error: SlackApiError) -> float:
    headers = getattr(error.response, "headers", None) or {}
    try:
        return max(float(headers.get("Retry-After", 1)), 0.0)
    except (TypeError, ValueError):
        return 1.0


class SlackClient:
    def __init__(
        self,
        web: AsyncWebClient,
        platform: str,
        pacing: Pacing | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.web = web
        self.uploads = AsyncWebClient(
            token=web.token, base_url=web.base_url, timeout=UPLOAD_TIMEOUT, logger=_upload_log
        )
        self.platform = platform
        self.pacing = pacing or Pacing()
        self._channels = KeyedBuckets(
            self.pacing.channel_rate, burst=self.pacing.channel_burst, size=50_000
        )
        self._workspace = TokenBucket(self.pacing.workspace_rate, burst=self.pacing.workspace_burst)
        self._opens = TokenBucket(self.pacing.open_rate, burst=self.pacing.open_burst)
        self._methods = {
            method: TokenBucket(per_minute, per=60.0, burst=per_minute)
            for method, per_minute in self.pacing.tiers.items()
        }
        self._dms: dict[str, str] = {}
        self._dm_listing: asyncio.Task[None] | None = None
        self._profiles: dict[str, tuple[float, Profile]] = {}
        # What each member's Home tab shows now (a digest of the view) and its view id.
        self._homes: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.reply_urls = ReplyUrls(clock)
        self._webhook_session: aiohttp.ClientSession | None = None
        self._file_session: aiohttp.ClientSession | None = None
        self.rate_limited = 0

    async def aclose(self) -> None:
        if self._dm_listing is not None:
            self._dm_listing.cancel()
        if self._webhook_session is not None:
            await self._webhook_session.close()
            self._webhook_session = None
        if self._file_session is not None:
            await self._file_session.close()
            self._file_session = None

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
            if code in GONE_ERRORS:
                raise AccountGone(f"slack: {code}") from None
            if code in UNREACHABLE_ERRORS:
                raise Unreachable(f"slack: {code}") from None
            raise PermanentError(f"slack: {code or status}") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TransientError(f"slack: {type(error).__name__}") from None

    async def call_paced(
        self, name: str, method: Callable[..., Awaitable[Any]], **kwargs: Any
    ) -> Any:
        """A method with a tier of its own: its bucket first, emptied by a 429."""
        bucket = self._methods.get(name)
        if bucket is not None:
            await self._take(bucket)
        try:
            return await self.call(method, **kwargs)
        except RetryAfter as error:
            if bucket is not None:
                bucket.penalise(error.seconds)
            raise

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

    def list_dms(self) -> None:
        """Start learning the DM channels Slack already has open with members."""
        if self._dm_listing is None:
            self._dm_listing = asyncio.create_task(self._list_dms())

    async def _list_dms(self) -> None:
        cursor = ""
        pages = 0
        try:
            while True:
                kwargs: dict[str, Any] = {"types": "im", "limit": DM_PAGE}
                if cursor:
                    kwargs["cursor"] = cursor
                try:
                    response = await self.call_paced(
                        "users.conversations", self.web.users_conversations, **kwargs
                    )
                except RetryAfter as error:
                    await asyncio.sleep(error.seconds)
                    continue
                pages += 1
                for channel in response.get("channels") or []:
                    user, channel_id = channel.get("user"), channel.get("id")
                    if isinstance(user, str) and isinstance(channel_id, str):
                        self._dms.setdefault(user, channel_id)
                cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
                if not cursor:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # Not fatal: DMs are then opened one by one as they are needed.
            log.warning("could not list the open Slack DMs: %s", error)
        log.info("slack: %d open DMs known (%d pages)", len(self._dms), pages)

    async def dms_known(self) -> int:
        """Wait for the listing started at start; how many DM channels are known."""
        if self._dm_listing is not None:
            await asyncio.shield(self._dm_listing)
        return len(self._dms)

    def dm_of(self, user_id: str) -> str | None:
        return self._dms.get(user_id)

    async def open_dm(self, user_id: str) -> str:
        """The DM channel with a member: known, or opened with ``conversations.open``."""
        channel = self._dms.get(user_id)
        if channel is None and self._dm_listing is not None and not self._dm_listing.done():
            await asyncio.shield(self._dm_listing)
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

    def saw_dm(self, user_id: str, channel_id: str) -> None:
        """A member wrote in their DM with the bot: its channel is known now."""
        if channel_id.startswith("D"):
            self._dms.setdefault(user_id, channel_id)

    async def profile(self, user_id: str) -> Profile:
        """Name and timezone from ``users.info``, cached for a day; the id if it fails."""
        cached = self._profiles.get(user_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            response = await self.call_paced("users.info", self.web.users_info, user=user_id)
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

    # -- views: modals and the Home tab -------------------------------------------------------

    async def open_form(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self.call_paced("views.open", self.web.views_open, trigger_id=trigger_id, view=view)

    async def publish_home(self, user_id: str, message: OutgoingMessage) -> MessageRef:
        """Publish the member's Home tab, unless it would show exactly what it shows:
        views.publish is paced at its tier, and a page that did not change is not sent."""
        view = home_view(message)
        shown = hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
        published = self._homes.get(user_id)
        if published is not None and published[0] == shown:
            return MessageRef(self.platform, user_id, published[1])
        response = await self.call_paced(
            "views.publish", self.web.views_publish, user_id=user_id, view=view
        )
        view_id = str((response.get("view") or {}).get("id") or "")
        self._homes[user_id] = (shown, view_id)
        self._homes.move_to_end(user_id)
        while len(self._homes) > HOMES_KEPT:
            self._homes.popitem(last=False)
        return MessageRef(self.platform, user_id, view_id)

    # -- response_url ---------------------------------------------------------------------

    async def _reply(self, url: str, body: dict[str, Any]) -> bool:
        """Post to a ``response_url``; False when Slack no longer accepts it."""
        if self._webhook_session is None:
            self._webhook_session = aiohttp.ClientSession()
        client = AsyncWebhookClient(
            url, session=self._webhook_session, timeout=10, logger=_webhook_log
        )
        try:
            response = await client.send_dict(body)
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TransientError(f"slack response_url: {type(error).__name__}") from None
        if response.status_code == 429:
            self.rate_limited += 1
            raise RetryAfter(1.0, "slack response_url: ratelimited")
        if response.status_code >= 500:
            raise TransientError(f"slack response_url: {response.status_code}")
        if response.status_code != 200:
            log.info("slack response_url refused: %s %s", response.status_code, response.body)
            return False
        return True

    async def _via_reply_url(
        self, channel: str, user: str | None, message: OutgoingMessage
    ) -> MessageRef | None:
        """Post through a usable ``response_url`` of the channel, if there is one."""
        while (found := self.reply_urls.take(channel, user)) is not None:
            if await self._reply(found.url, reply_body(message, ephemeral=user is not None)):
                return MessageRef(self.platform, channel, "")
            self.reply_urls.spend(found)
        return None

    async def reply_where_typed(
        self, channel: str, user: str, message: OutgoingMessage
    ) -> MessageRef | None:
        """Shown only to ``user`` where their command was typed, while its response_url
        lasts; None once it is used up or expired."""
        return await self._via_reply_url(channel, user, message)

    # -- sending ------------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> MessageRef:
        address = message.address
        if address.kind is ConversationKind.HOME:
            return await self.publish_home(address.conversation_id, message)
        if message.attachment is not None:
            return await self._with_file(message, message.attachment)
        if address.kind is ConversationKind.DM:
            channel = await self.open_dm(address.conversation_id)
        else:
            channel = address.conversation_id
        if address.ephemeral_to:
            return await self._ephemeral(channel, address.ephemeral_to, message)
        if message.edit_of:
            return await self._update(channel, message.edit_of, message)
        thread = address.thread_id or message.reply_to
        try:
            return await self._post_all(channel, message, thread)
        except Unreachable as error:
            # An answer for everyone to a command typed where the bot is not a member:
            # the command's response_url still reaches the channel.
            if address.kind is not ConversationKind.GROUP or message.choices or thread:
                raise
            if not _names(error, NOT_THERE):
                raise
            ref = await self._via_reply_url(channel, None, message)
            if ref is None:
                raise
            return ref

    # -- files ------------------------------------------------------------------------------

    async def _with_file(self, message: OutgoingMessage, attachment: Attachment) -> MessageRef:
        """The file shared where the message goes (a member's DM when it is for them
        alone), the text as its comment; buttons, if any, follow as a message."""
        address = message.address
        private = address.kind is ConversationKind.DM or address.ephemeral_to
        if private:
            channel = await self.open_dm(address.ephemeral_to or address.conversation_id)
        else:
            channel = address.conversation_id
        body = await attachment_bytes(attachment, self._fetch)
        comment = to_mrkdwn(message.text) if not message.choices else ""
        await self._pace(channel)
        kwargs: dict[str, Any] = {
            "filename": attachment.filename,
            "content": body,
            "title": attachment.filename,
            "channel": channel,
        }
        if comment.strip():
            kwargs["initial_comment"] = comment
        thread = None if private else address.thread_id or message.reply_to
        if thread:
            kwargs["thread_ts"] = thread
        try:
            response = await self.call(self.uploads.files_upload_v2, **kwargs)
        except SlackRequestError:
            # The bytes did not reach the upload URL (it is used up then): all again.
            raise TransientError("slack: the file upload failed") from None
        except RetryAfter as error:
            self._penalise(channel, error.seconds)
            raise
        file_id = str((response.get("file") or {}).get("id") or "")
        if message.choices:
            return await self._post_all(channel, message, thread)
        return MessageRef(self.platform, channel, file_id)

    async def _fetch(self, url: str) -> bytes:
        """A file at Indaba's signed link; errors never quote the link."""
        if self._file_session is None:
            self._file_session = aiohttp.ClientSession()
        try:
            async with self._file_session.get(
                url, timeout=aiohttp.ClientTimeout(total=UPLOAD_TIMEOUT), allow_redirects=False
            ) as answer:
                if answer.status >= 500:
                    raise TransientError(f"slack: the file's link answered {answer.status}")
                if answer.status != 200:
                    raise PermanentError(f"slack: the file's link answered {answer.status}")
                return await answer.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            raise TransientError(
                f"slack: could not read the file ({type(error).__name__})"
            ) from None

    async def _post_all(
        self, channel: str, message: OutgoingMessage, thread: str | None
    ) -> MessageRef:
        first_ts: str | None = None
        ref_ts = ""
        for index, chunk in enumerate(render(message)):
            if index == 0:
                ts = await self._post(channel, chunk, thread)
                first_ts = ts
            else:
                ts = await self._post_continuation(channel, chunk, thread)
            ref_ts = ts if message.choices or index == 0 else ref_ts
        assert first_ts is not None
        return MessageRef(self.platform, channel, ref_ts or first_ts)

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
            await self.call_paced(
                "chat.update",
                self.web.chat_update,
                channel=channel,
                ts=ts,
                text=rendered.text,
                blocks=rendered.blocks,
            )
        except RetryAfter as error:
            self._penalise(channel, error.seconds)
            raise
        return MessageRef(self.platform, channel, ts)

    async def _ephemeral(self, channel: str, user: str, message: OutgoingMessage) -> MessageRef:
        """An answer only ``user`` sees where they asked: through the response_url while
        it lasts, else ``chat.postEphemeral``, else (the bot is not there) a DM.

        The address is the channel, so nothing about the member makes it unreachable:
        a member who cannot be reached any more simply gets no answer."""
        try:
            if not message.choices:
                ref = await self._via_reply_url(channel, user, message)
                if ref is not None:
                    return ref
            try:
                return await self._post_ephemeral(channel, user, message)
            except Unreachable as error:
                if not _names(error, NOT_THERE):
                    raise
            return await self._post_all(await self.open_dm(user), message, None)
        except Unreachable as error:
            raise PermanentError(str(error)) from None

    async def _post_ephemeral(
        self, channel: str, user: str, message: OutgoingMessage
    ) -> MessageRef:
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
        return MessageRef(self.platform, channel, str(response.get("message_ts") or ""))


def _names(error: Exception, codes: frozenset[str]) -> bool:
    """Whether a mapped error names one of Slack's error ``codes``."""
    return str(error).rsplit(" ", 1)[-1] in codes
