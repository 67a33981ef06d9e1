"""Themes found in members' answers head the harvest page and the poster, each quoted
exactly, with anonymous members still "A member"."""

from __future__ import annotations

import html
import io
from pathlib import Path

import httpx
from pypdf import PdfReader
from sqlalchemy import select

from bot.engine.services.links import Page
from storage.models import Meeting
from tests.harness import Harness

WATER = [
    "The borehole pumps broke again and the water committee had no spare parts.",
    "We repaired two borehole pumps with spare parts bought by the water committee.",
    "Water committee members now keep borehole pump spare parts in the village.",
    "Borehole pump repairs need spare parts; the water committee collects money.",
]
BUDGET = [
    "The district budget hearing was packed; citizens asked about school budget lines.",
    "We published the school budget lines before the district budget hearing.",
    "Citizens compared district budget lines for schools at the hearing.",
    "The budget hearing showed school budget lines cut by the district.",
]


async def test_themes_head_the_harvest_and_the_poster(database_url: str, tmp_path: Path) -> None:
    h = await Harness.create(database_url, tmp_path, http_port=0)
    try:
        names = tuple(f"m{i}" for i in range(8))
        await h.setup_community(members=names)
        await h.say("fatima", "/meeting add 2026-11-20 14:00 Dots meeting", "#cop")
        await h.say("m0", "/anonymous on")
        await h.advance(days=11, hours=3)
        for name, text in zip(names, WATER + BUDGET, strict=True):
            await h.say(name, text)
        await h.indaba.serve_http()
        port = await h.indaba.http_port()
        h.indaba.links.base_url = f"http://127.0.0.1:{port}"
        async with h.indaba.sessions() as session:
            meeting = await session.scalar(select(Meeting))
            assert meeting is not None
        links = h.indaba.links
        expires = links.expiry(h.clock.now())
        async with httpx.AsyncClient(timeout=120) as client:
            page = html.unescape((await client.get(links.meeting(meeting.id, expires))).text)
            pdf = await client.get(links.meeting(meeting.id, expires, Page.POSTER_PDF))
    finally:
        await h.aclose()
    themes = page[page.index('id="themes"') : page.index('id="answers"')]
    assert "borehole" in themes and "budget" in themes
    assert WATER[1] in themes and BUDGET[1] in themes
    assert "A member" in themes and "M0" not in page
    text = " ".join(PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().split())
    assert "Main themes" in text
    assert any(f"“{quote}”" in text for quote in WATER) and any(f"“{q}”" in text for q in BUDGET)
