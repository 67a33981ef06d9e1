"""The poster: one A3 page that opens as a PDF and as a PNG and holds the meeting's
title and a member's answer, quoted; it stays one page however much the meeting held."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
from PIL import Image
from pypdf import PdfReader

from bot.app.settings import PROJECT_ROOT
from bot.app.web import poster
from bot.app.web.render import Renderer
from bot.app.web.views import HarvestView, MeetingHead, PracticeView, QuestionView, Quote, Ranked
from bot.engine.services.links import Page
from bot.engine.texts import Texts
from tests.web.conftest import Served, not_blank
from tests.web.story import AMINA, MEETING

A3 = (841.89, 1190.55)  # points
WHEN = datetime(2026, 11, 20, 14, tzinfo=UTC)


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_the_poster_as_pdf_and_png(served: Served) -> None:
    async with httpx.AsyncClient(timeout=120) as client:
        pdf = await client.get(served.meeting(Page.POSTER_PDF))
        png = await client.get(served.meeting(Page.POSTER_PNG))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="poster-' in pdf.headers["content-disposition"]
    reader = PdfReader(io.BytesIO(pdf.content))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == tuple(round(x) for x in A3)
    text = flat(reader.pages[0].extract_text())
    assert MEETING in text
    assert f"“{AMINA}”" in text
    assert "Budget literacy" in text and "Weekly office hours at the water office" in text
    assert "Thandi" not in text

    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert image.format == "PNG" and image.size == (1170, 1654)
    assert image.text["Title"] == MEETING  # type: ignore[attr-defined]
    assert not_blank(png.content)


def test_a_crowded_meeting_still_fits_one_page() -> None:
    long = "We walked the whole district with the water committee and counted " * 12
    view = HarvestView(
        meeting=MeetingHead(1, "A very full meeting", "meeting", "CoP", "en", WHEN, "UTC", False),
        questions=[
            QuestionView(
                n, f"Question {n} " + "with a long wording " * 5, [Quote("Amina", long)] * 30
            )
            for n in range(1, 8)
        ],
        themes=[],
        decisions=[],
        actions=[],
        ranked=[Ranked(r, f"Agenda item number {r} " * 3, 40 - r) for r in range(1, 30)],
        practices=[PracticeView(long, "Kwame", 9) for _ in range(20)],
        asked=300,
        answered=250,
        rate=83,
        wall_new=[],
        wall_refreshed=[],
        introductions=[],
    )
    texts = Texts(PROJECT_ROOT / "prompts")
    renderer = Renderer(texts, PROJECT_ROOT / "prompts" / "web")
    data = poster.pdf(
        view, lambda chosen: renderer.page("poster.html", "en", view=view, poster=chosen)
    )
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = flat(reader.pages[0].extract_text())
    assert "A very full meeting" in text and "Agenda item number 1" in text
    # Cut at a word and marked, never mid-word.
    assert "…" in text
