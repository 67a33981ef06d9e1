"""The ``response_url`` of each member's latest commands and presses: where an answer to
them can be posted, in any conversation, while Slack accepts it (five posts within
thirty minutes of the request)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from adapters.slack.normalise import ReplyUrl

# Slack's response_url: five posts within thirty minutes.
REPLY_URL_USES = 5
REPLY_URL_SECONDS = 30 * 60.0
REPLY_URLS_KEPT = 10_000


@dataclass(slots=True)
class HeldUrl:
    """A response_url held: when it came, how often it was posted to."""

    url: str
    received: float
    uses: int = 0


class ReplyUrls:
    """The ``response_url`` of each member's latest commands and presses, per channel,
    while Slack still accepts posts to it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._urls: OrderedDict[tuple[str, str], list[HeldUrl]] = OrderedDict()

    def remember(self, reply: ReplyUrl) -> None:
        key = (reply.channel_id, reply.user_id)
        kept = [u for u in self._urls.pop(key, []) if self._usable(u) and u.url != reply.url]
        self._urls[key] = [*kept, HeldUrl(reply.url, self._clock())][-REPLY_URL_USES:]
        while len(self._urls) > REPLY_URLS_KEPT:
            self._urls.popitem(last=False)

    def _usable(self, url: HeldUrl) -> bool:
        return url.uses < REPLY_URL_USES and self._clock() - url.received < REPLY_URL_SECONDS

    def take(self, channel_id: str, user_id: str | None = None) -> HeldUrl | None:
        """A usable URL for an answer to ``user_id`` in the channel (to anyone's there
        when ``user_id`` is None), newest first; it counts as used."""
        keys = (
            [(channel_id, user_id)]
            if user_id is not None
            else [key for key in reversed(self._urls) if key[0] == channel_id]
        )
        for key in keys:
            for url in reversed(self._urls.get(key, [])):
                if self._usable(url):
                    url.uses += 1
                    return url
        return None

    @staticmethod
    def spend(url: HeldUrl) -> None:
        """Slack refused it (expired or used up): never try it again."""
        url.uses = REPLY_URL_USES
