"""The meeting pack's pages in a real browser: each renders its content without
JavaScript, logs no console error, is not blank, stays under 100 KB; links between the
pages work; a changed, expired or misused link is refused with 403."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bot.engine.services.links import Page
from tests.web.conftest import Served, not_blank
from tests.web.story import AMINA, MEETING, THANDI

LIMIT = 100 * 1024

# What each page must show, with what it must not (the anonymous member's name).
EXPECTED: dict[Page, tuple[str, list[str]]] = {
    Page.WALL: (
        "Wall of passions and knowledge",
        [
            "Who cares about what",
            "Amina: Water point maps",
            "Who can help with what",
            "Amina: Training on borehole surveys",
            "Who needs what",
            "Kwame: Borehole survey methods",
            "A member: Water point maps and rural sanitation",
            "Amina & Kwame",
        ],
    ),
    Page.JOURNEY: ("Our journey", [MEETING, "Top of the agenda", "Budget literacy", "Harvest"]),
    Page.AGENDA: (
        f"Agenda: {MEETING}",
        [
            "Ranked outcome",
            "Budget literacy · 2 votes",
            "Open data portal",
            "What we publish first",
            "Proposed by",
            "A member",
        ],
    ),
    Page.HARVEST: (
        f"Harvest: {MEETING}",
        [
            "Answers by question",
            AMINA,
            THANDI,
            "Weekly office hours at the water office",
            "2 votes",
            "33%",
        ],
    ),
}


async def open_page(browser: Any, url: str, shots: Path, name: str) -> tuple[Any, list[str]]:
    """The page at ``url`` without JavaScript, its console errors, and a screenshot."""
    context = await browser.new_context(java_script_enabled=False)
    # A loaded CI machine can take a while for the first harvest (the themes' model loads).
    context.set_default_timeout(120_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = await page.goto(url)
    assert response is not None
    page.response = response
    await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    return page, errors


async def test_every_page_renders_its_content_in_chromium(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    sizes = {}
    for page_name, (heading, expected) in EXPECTED.items():
        url = (
            served.community(page_name)
            if page_name in (Page.WALL, Page.JOURNEY)
            else served.meeting(page_name)
        )
        page, errors = await open_page(browser, url, tmp_path, page_name.value)
        assert page.response.status == 200
        assert (await page.text_content("h1")).strip() == heading
        body = " ".join((await page.inner_text("main")).split())
        for text in expected:
            assert " ".join(text.split()) in body, (page_name, text)
        # Thandi chose to be anonymous: her name is nowhere, her words are.
        assert "Thandi" not in await page.content()
        assert errors == []
        assert not_blank((tmp_path / f"{page_name.value}.png").read_bytes())
        async with httpx.AsyncClient() as client:
            raw = await client.get(url, headers={"Accept-Encoding": "identity"})
        sizes[page_name] = len(raw.content)
        assert len(raw.content) < LIMIT
        assert "<script" not in raw.text.replace("&lt;script&gt;", "")
        assert raw.headers["content-security-policy"].startswith("default-src 'none'")
        await page.context.close()
    assert all(size > 2000 for size in sizes.values()), sizes


async def test_the_journey_leads_to_each_harvest_and_poster(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    page, errors = await open_page(browser, served.community(Page.JOURNEY), tmp_path, "journey")
    await page.click("text=Harvest >> nth=-1")
    assert (await page.text_content("h1")).strip() == f"Harvest: {MEETING}"
    assert AMINA in await page.inner_text("main")
    await page.click("nav >> text=Agenda")
    assert (await page.text_content("h1")).strip() == f"Agenda: {MEETING}"
    poster = await page.get_attribute("nav >> text=Poster (PDF)", "href")
    async with httpx.AsyncClient(timeout=60) as client:
        pdf = await client.get(httpx.URL(page.url).join(poster))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert errors == []


async def test_changed_expired_and_misused_links_are_refused(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    good = served.meeting(Page.HARVEST)
    token = good.split("/")[-2]
    # One character of the signature changed. Not the last one: base64 leaves some
    # of its bits unused, so a changed last character can decode to the same bytes.
    payload, signature = token.rsplit(".", 1)
    flipped = f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    other = served.community(Page.WALL).split("/")[-2]
    for name, url, reason in (
        ("tampered", good.replace(token, flipped), "not valid"),
        ("cut", good.replace(token, token[:-5]), "not valid"),
        ("wrong-page", f"{served.base}/pack/{other}/harvest", "does not open this page"),
        ("meeting-as-wall", good.replace("/harvest", "/wall"), "does not open this page"),
    ):
        page, _ = await open_page(browser, url, tmp_path, name)
        assert page.response.status == 403, name
        assert reason in await page.inner_text("main"), name
        assert MEETING not in await page.content()
        await page.context.close()
    # The same good link, once its 30 days have passed.
    page, _ = await open_page(browser, good, tmp_path, "before")
    assert page.response.status == 200
    await served.h.advance(days=31)
    page, _ = await open_page(browser, good, tmp_path, "expired")
    assert page.response.status == 403
    assert "expired" in await page.inner_text("main")
