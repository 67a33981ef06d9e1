"""The meeting pack's pages on Indaba's HTTP server, below ``/pack/<signed link>/``.

Every request carries its access in the path: a link signed by
:class:`~bot.engine.services.links.Links` for a community (its wall and journey) or a
meeting (its agenda, harvest and poster). A changed, cut, expired or misused link is
answered 403 with a short page saying so. Pages are gzipped, carry no script and load
nothing from elsewhere (the Content-Security-Policy says so to the browser too), and
are never cached or indexed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route

from bot.app.web import poster, views
from bot.app.web.render import Renderer
from bot.engine.services import brief
from bot.engine.services.links import (
    PREFIX,
    BadLink,
    Grant,
    LinkExpired,
    Links,
    Page,
    Scope,
)
from bot.engine.texts import Texts
from bot.runtime.clock import Clock
from storage.models import Community

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}

MEETING_NAV = (("agenda", Page.AGENDA), ("harvest", Page.HARVEST), ("poster", Page.POSTER_PDF))
COMMUNITY_NAV = (("wall", Page.WALL), ("journey", Page.JOURNEY))


_TOKEN = re.compile(re.escape(PREFIX) + r"/[^/?\s]+")


class HideLinks(logging.Filter):
    """Keeps the signed part of pack links out of the access log: whoever reads the log
    could otherwise open the pages."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(f"{PREFIX}/…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def hide_links_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideLinks) for f in access.filters):
        access.addFilter(HideLinks())


def _question_and_page(query: Mapping[str, str]) -> tuple[int | None, int]:
    """``?question=N&page=P``: one question's answers, a page at a time."""
    question = query.get("question", "")
    page = query.get("page", "")
    return (
        int(question) if question.isdigit() else None,
        int(page) if page.isdigit() and len(page) < 6 else 1,
    )


class Missing(Exception):
    """The link is good but what it names is gone."""


class Pack:
    """The pages and the poster, built from the database at each request."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        texts: Texts,
        clock: Clock,
        links: Links,
        templates: Path,
    ) -> None:
        self.sessions = sessions
        self.texts = texts
        self.clock = clock
        self.links = links
        self.renderer = Renderer(texts, templates)

    def routes(self) -> list[BaseRoute]:
        hide_links_in_access_log()
        pages = Starlette(routes=[Route("/{token}/{page}", self.serve)])
        return [Mount(PREFIX, app=GZipMiddleware(pages, minimum_size=1000))]

    # -- requests -----------------------------------------------------------------------

    async def serve(self, request: Request) -> Response:
        token = str(request.path_params["token"])
        language = self._language(request)
        try:
            page = Page(str(request.path_params["page"]))
        except ValueError:
            return self._refused(language, "missing", 404)
        try:
            grant = self.links.grant(token, self.clock.now())
        except LinkExpired:
            return self._refused(language, "expired", 403)
        except BadLink:
            return self._refused(language, "invalid", 403)
        if not grant.opens(page):
            return self._refused(language, "scope", 403)
        try:
            if page is Page.BRIEF_CSV:
                return await self.brief_file(grant.id)
            if page in (Page.POSTER_PDF, Page.POSTER_PNG):
                data, name = await self.poster(grant.id, png=page is Page.POSTER_PNG)
                media = "image/png" if page is Page.POSTER_PNG else "application/pdf"
                return Response(
                    data,
                    media_type=media,
                    headers={**HEADERS, "Content-Disposition": f'inline; filename="{name}"'},
                )
            html = await self.page(grant, page, token, request.query_params)
        except Missing:
            return self._refused(language, "missing", 404)
        return HTMLResponse(html, headers=HEADERS)

    def _language(self, request: Request) -> str:
        """The first of the reader's languages Indaba has texts for (for refusals)."""
        for part in request.headers.get("accept-language", "").split(","):
            code = part.split(";")[0].strip().lower()[:2]
            if code in self.texts.languages:
                return code
        return "en"

    def _refused(self, language: str, reason: str, status: int) -> Response:
        html = self.renderer.page("refused.html", language, reason=reason)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    # -- what is shown --------------------------------------------------------------------

    def _days_left(self, grant: Grant, now: datetime) -> int:
        return max(1, math.ceil((grant.expires_at - now).total_seconds() / 86400))

    async def page(
        self, grant: Grant, page: Page, token: str, query: Mapping[str, str] | None = None
    ) -> str:
        """The HTML of ``page``; links between pages are relative, so they keep working
        behind any proxy and whatever ``INDABA_WEB_BASE_URL`` says."""
        now = self.clock.now()
        days = self._days_left(grant, now)
        async with self.sessions() as session:
            if grant.scope is Scope.COMMUNITY:
                community = await session.get(Community, grant.id)
                if community is None:
                    raise Missing
                nav = [(name, target.value, target is page) for name, target in COMMUNITY_NAV]
                common = {"community": community.name, "nav": nav, "days_left": days}
                if page is Page.WALL:
                    wall = await views.wall_view(session, self.texts, community)
                    return self.renderer.page("wall.html", community.language, view=wall, **common)
                journey = await views.journey_view(session, self.texts, community, now)
                for index, card in enumerate(journey.cards):
                    # Each card opens its meeting for as long as this link lasts.
                    derived = self.links.token(
                        Grant(Scope.MEETING, card.meeting.id, grant.expires_at)
                    )
                    journey.cards[index] = replace(
                        card,
                        harvest_url=f"../{derived}/{Page.HARVEST.value}",
                        poster_url=f"../{derived}/{Page.POSTER_PDF.value}",
                    )
                return self.renderer.page(
                    "journey.html", community.language, view=journey, **common
                )
            found = await views.meeting_of(session, grant.id)
            if found is None:
                raise Missing
            community, meeting = found
            nav = [(name, target.value, target is page) for name, target in MEETING_NAV]
            common = {"community": community.name, "nav": nav, "days_left": days}
            if page is Page.AGENDA:
                agenda = await views.agenda_view(session, self.texts, community, meeting, now)
                return self.renderer.page("agenda.html", community.language, view=agenda, **common)
            harvest = await views.harvest_view(session, self.texts, community, meeting, now)
            answers = views.answer_page(harvest, *_question_and_page(query or {}))
            return self.renderer.page(
                "harvest.html", community.language, view=harvest, answers=answers, **common
            )

    async def brief_file(self, meeting_id: int) -> Response:
        """The brief's file, streamed from the database as it is written."""
        async with self.sessions() as session:
            if await views.meeting_of(session, meeting_id) is None:
                raise Missing

        async def chunks() -> AsyncIterator[bytes]:
            async with self.sessions() as session:
                found = await views.meeting_of(session, meeting_id)
                if found is None:
                    return
                community, meeting = found
                async for chunk in brief.csv_chunks(
                    session, self.texts, community, meeting, community.language
                ):
                    yield chunk.encode()

        return StreamingResponse(
            chunks(),
            media_type="text/csv; charset=utf-8",
            headers={
                **HEADERS,
                "Content-Disposition": f'attachment; filename="brief-{meeting_id}.csv"',
            },
        )

    async def poster(self, meeting_id: int, *, png: bool = False) -> tuple[bytes, str]:
        """The poster of a meeting as PDF (or PNG) bytes, with its file name."""
        async with self.sessions() as session:
            found = await views.meeting_of(session, meeting_id)
            if found is None:
                raise Missing
            community, meeting = found
            view = await views.harvest_view(
                session, self.texts, community, meeting, self.clock.now()
            )

        def html_for(chosen: poster.PosterView) -> str:
            return self.renderer.page("poster.html", community.language, view=view, poster=chosen)

        # Laying out a page takes a second or so: off the event loop, which keeps
        # answering webhooks meanwhile.
        data = await asyncio.to_thread(poster.pdf, view, html_for)
        if png:
            data = await asyncio.to_thread(poster.png, data, meeting.title)
            return data, f"poster-{meeting.id}.png"
        return data, f"poster-{meeting.id}.pdf"
