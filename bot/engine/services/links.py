"""Signed, expiring links to the meeting pack's pages (the wall, agenda, harvest, poster).

A link names what it opens (a community or one meeting) and until when, signed with
the process's web secret by itsdangerous: a changed byte or a passed date is refused.
The engine signs links for facilitators; the web pages check them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from itsdangerous import BadData, URLSafeSerializer

# Mounted here by the HTTP server; every page of the pack is below it.
PREFIX = "/pack"
SALT = "indaba.pack.v1"


class Scope(StrEnum):
    """What a link opens: a community (its wall, journey and every meeting) or a meeting."""

    COMMUNITY = "c"
    MEETING = "m"
    # A meeting's brief file, for its facilitators: it names who has not answered, so a
    # link to the meeting's pages (which members may be given) does not open it.
    BRIEF = "b"


class Page(StrEnum):
    WALL = "wall"
    JOURNEY = "journey"
    AGENDA = "agenda"
    HARVEST = "harvest"
    POSTER_PDF = "poster.pdf"
    POSTER_PNG = "poster.png"
    BRIEF_CSV = "brief.csv"


# Which pages each scope opens.
PAGES: dict[Scope, frozenset[Page]] = {
    Scope.COMMUNITY: frozenset({Page.WALL, Page.JOURNEY}),
    Scope.MEETING: frozenset({Page.AGENDA, Page.HARVEST, Page.POSTER_PDF, Page.POSTER_PNG}),
    Scope.BRIEF: frozenset({Page.BRIEF_CSV}),
}


class BadLink(Exception):
    """The link was changed, cut, or signed with another secret."""


class LinkExpired(BadLink):
    """The link was valid until a date now passed."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a valid link gives access to, and until when."""

    scope: Scope
    id: int
    expires_at: datetime

    def opens(self, page: Page) -> bool:
        return page in PAGES[self.scope]


class Links:
    """Signs and checks the pack's links; ``base_url`` is where members reach the server."""

    def __init__(self, secret: str, base_url: str, default_days: int = 30) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self.base_url = base_url.rstrip("/")
        self.default_days = default_days

    def token(self, grant: Grant) -> str:
        payload = {"s": grant.scope.value, "i": grant.id, "e": int(grant.expires_at.timestamp())}
        return str(self._serializer.dumps(payload))

    def grant(self, token: str, now: datetime) -> Grant:
        """The grant a token carries.

        Raises:
            BadLink: the signature does not match or the payload is not a grant.
            LinkExpired: the grant has expired at ``now``.
        """
        try:
            payload: Any = self._serializer.loads(token)
            grant = Grant(
                Scope(payload["s"]),
                int(payload["i"]),
                datetime.fromtimestamp(int(payload["e"]), UTC),
            )
        except (BadData, KeyError, TypeError, ValueError):
            raise BadLink("not a valid link") from None
        if grant.expires_at <= now:
            raise LinkExpired("the link has expired")
        return grant

    def expiry(self, now: datetime, days: int | None = None) -> datetime:
        return now + timedelta(days=self.default_days if days is None else days)

    def url(self, grant: Grant, page: Page) -> str:
        return f"{self.base_url}{PREFIX}/{self.token(grant)}/{page.value}"

    def meeting(self, meeting_id: int, expires_at: datetime, page: Page = Page.HARVEST) -> str:
        return self.url(Grant(Scope.MEETING, meeting_id, expires_at), page)

    def brief(self, meeting_id: int, expires_at: datetime) -> str:
        """The brief's file of a meeting (every answer and name), for its facilitators."""
        return self.url(Grant(Scope.BRIEF, meeting_id, expires_at), Page.BRIEF_CSV)

    def community(self, community_id: int, expires_at: datetime, page: Page = Page.WALL) -> str:
        return self.url(Grant(Scope.COMMUNITY, community_id, expires_at), page)
