"""A focused Cloud API client: POST ``{api_url}/{phone_number_id}/messages``.

It paces sends under the platform's limits and maps the Cloud API's error codes to
Indaba's delivery errors, so the delivery loop waits, holds or gives up as it should.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx

from bot.adapter import (
    DeliveryFailure,
    PermanentError,
    RetryAfter,
    TransientError,
    Unreachable,
    WindowClosed,
)
from bot.pacing import KeyedBuckets, RateWindow, SharedBudget

log = logging.getLogger(__name__)

# Re-engagement message: outside the 24-hour window only a template may be sent.
WINDOW_CLOSED = 131047
# Throughput per business number, and the pair rate limit (same member, too often).
NUMBER_RATE_LIMIT = 130429
PAIR_RATE_LIMIT = 131056
SPAM_RATE_LIMIT = 131048
# Access token expired or revoked: the operator must fix it, messages must not die meanwhile.
AUTH = frozenset({190, 0})

# What each documented Cloud API error code means for the message, whether the API
# refused it at once or accepted it and later reported a ``failed`` status.
FAILURES: dict[int, DeliveryFailure] = {
    WINDOW_CLOSED: DeliveryFailure.WINDOW_CLOSED,
    # Undeliverable (not on WhatsApp, old app, ...), not in the test number's allowed
    # list, opted out of marketing, held back by one of Meta's experiments.
    131026: DeliveryFailure.UNREACHABLE,
    131030: DeliveryFailure.UNREACHABLE,
    131050: DeliveryFailure.UNREACHABLE,
    130472: DeliveryFailure.UNREACHABLE,
    # Rates and caps, temporary errors: the same message can go later.
    NUMBER_RATE_LIMIT: DeliveryFailure.RETRY,
    PAIR_RATE_LIMIT: DeliveryFailure.RETRY,
    SPAM_RATE_LIMIT: DeliveryFailure.RETRY,
    131049: DeliveryFailure.RETRY,  # per-member marketing cap ("healthy ecosystem")
    131042: DeliveryFailure.RETRY,  # business payment issue: the operator fixes it
    1: DeliveryFailure.RETRY,
    2: DeliveryFailure.RETRY,
    4: DeliveryFailure.RETRY,
    131000: DeliveryFailure.RETRY,
    131016: DeliveryFailure.RETRY,
    133004: DeliveryFailure.RETRY,
    # The message itself is wrong: unsupported type, media, template problems.
    131051: DeliveryFailure.REFUSED,
    131052: DeliveryFailure.REFUSED,
    131053: DeliveryFailure.REFUSED,
    131009: DeliveryFailure.REFUSED,
    132000: DeliveryFailure.REFUSED,
    132001: DeliveryFailure.REFUSED,
    132005: DeliveryFailure.REFUSED,
    132007: DeliveryFailure.REFUSED,
    132012: DeliveryFailure.REFUSED,
    132015: DeliveryFailure.REFUSED,
    132016: DeliveryFailure.REFUSED,
}

RETRY_SECONDS = {NUMBER_RATE_LIMIT: 1.0, SPAM_RATE_LIMIT: 60.0, 131049: 3600.0}
# A document upload may take longer than a message.
UPLOAD_TIMEOUT = 120.0


def failure_of(code: int | None) -> DeliveryFailure:
    """How a ``failed`` status with this error code is handled (unknown codes: retried)."""
    if code is None:
        return DeliveryFailure.RETRY
    return FAILURES.get(code, DeliveryFailure.RETRY)


class CloudApiClient:
    """Sends message bodies to one business number."""

    def __init__(
        self,
        api_url: str,
        phone_number_id: str,
        access_token: str,
        *,
        messages_per_second: float = 80.0,
        member_interval_seconds: float = 6.0,
        member_burst: int = 3,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = f"{api_url.rstrip('/')}/{phone_number_id}/messages"
        self._media_url = f"{api_url.rstrip('/')}/{phone_number_id}/media"
        self._http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
            transport=transport,
        )
        # A moving window, as Meta counts: the burst it allows at once, never more.
        self._number = RateWindow(messages_per_second)
        self._number_key = "whatsapp:" + hashlib.sha256(phone_number_id.encode()).hexdigest()[:16]
        self._member_interval = member_interval_seconds
        self._members = (
            KeyedBuckets(1, per=member_interval_seconds, burst=member_burst)
            if member_interval_seconds > 0
            else None
        )

    def share_budget(self, budget: SharedBudget | None) -> None:
        """Count the number's throughput with every process sending from it."""
        self._number.share(budget, f"{self._number_key}:all")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, to: str, body: dict[str, Any], reply_to: str | None = None) -> str:
        """POST one message; returns its ``wamid``. Raises a delivery error otherwise."""
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            **body,
        }
        if reply_to:
            payload["context"] = {"message_id": reply_to}
        if self._members is not None:
            await self._members.acquire(to)
        try:
            async with self._number.sending():
                response = await self._http.post(self._url, json=payload)
        except httpx.HTTPError as error:
            raise TransientError(f"WhatsApp API unreachable: {type(error).__name__}") from None
        if response.status_code < 400:
            try:
                return str(response.json()["messages"][0]["id"])
            except (ValueError, KeyError, IndexError, TypeError):
                raise TransientError("WhatsApp API answered without a message id") from None
        raise self._error(to, response)

    async def upload(self, body: bytes, filename: str, media_type: str) -> str:
        """POST a file to ``/media`` (multipart, as the Cloud API takes it); returns the
        media id a message then names. Raises a delivery error otherwise."""
        try:
            response = await self._http.post(
                self._media_url,
                data={"messaging_product": "whatsapp", "type": media_type},
                files={"file": (filename, body, media_type)},
                timeout=UPLOAD_TIMEOUT,
            )
        except httpx.HTTPError as error:
            raise TransientError(f"WhatsApp media upload failed: {type(error).__name__}") from None
        if response.status_code < 400:
            try:
                return str(response.json()["id"])
            except (ValueError, KeyError, TypeError):
                raise TransientError("WhatsApp answered the upload without a media id") from None
        raise self._error("", response)

    def _error(self, to: str, response: httpx.Response) -> Exception:
        code, detail = _error_of(response)
        text = f"WhatsApp error {code}: {detail}" if code is not None else detail
        if code == PAIR_RATE_LIMIT and to:
            seconds = max(self._member_interval, 1.0)
            if self._members is not None:
                self._members.bucket(to).penalise(seconds)
            return RetryAfter(seconds, text)
        if code in RETRY_SECONDS or response.status_code == 429:
            seconds = RETRY_SECONDS.get(code or 0, 1.0)
            if code != 131049:
                self._number.penalise(min(seconds, 60.0))
            return RetryAfter(seconds, text)
        if response.status_code == 401 or code in AUTH:
            log.error("WhatsApp refused the access token: %s", text)
            return TransientError(text)
        failure = FAILURES.get(code) if code is not None else None
        if failure is DeliveryFailure.WINDOW_CLOSED:
            return WindowClosed(text)
        if failure is DeliveryFailure.UNREACHABLE:
            return Unreachable(text)
        if failure is DeliveryFailure.RETRY or response.status_code >= 500:
            return TransientError(text)
        return PermanentError(text)


def _error_of(response: httpx.Response) -> tuple[int | None, str]:
    try:
        error = response.json()["error"]
        code = int(error["code"])
    except (ValueError, KeyError, TypeError):
        return None, f"HTTP {response.status_code}"
    details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
    return code, str(details)
