"""The meeting pack served by a whole Indaba on a virtual clock, and a real Chromium.

The browser is Debian's Chromium driven by Playwright (``.ci/run`` installs it; never
``playwright install``). Tests that need it skip, saying why, only when it is missing.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.engine.services.links import Page
from tests.harness import Harness
from tests.web.story import Told, tell

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Served:
    h: Harness
    told: Told
    base: str

    def community(self, page: Page) -> str:
        links = self.h.indaba.links
        return links.community(self.told.community_id, links.expiry(self.h.clock.now()), page)

    def meeting(self, page: Page) -> str:
        links = self.h.indaba.links
        return links.meeting(self.told.meeting_id, links.expiry(self.h.clock.now()), page)


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[Served]:
    h = await Harness.create(database_url, tmp_path, http_port=0)
    try:
        told = await tell(h)
        await h.indaba.serve_http()
        port = await h.indaba.http_port()
        base = f"http://127.0.0.1:{port}"
        # Links name the port the server got (port 0 in the settings).
        h.indaba.links.base_url = base
        yield Served(h, told, base)
    finally:
        await h.aclose()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def not_blank(png: bytes) -> bool:
    """More than a handful of colours, and dark ink on the page."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16)
    darkest = min(image.convert("L").getextrema())
    return (colours is None or len(colours) > 16) and darkest < 80
