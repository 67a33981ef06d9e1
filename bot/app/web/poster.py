"""The one-page A3 poster of a meeting: the harvest's HTML, printed by WeasyPrint.

WeasyPrint lays out the same kind of HTML and CSS as the pages (``@page`` gives the
A3 sheet) with Pango; pypdfium2 (PDFium, shipped in its wheel) turns the PDF into a
PNG for chats and screens. Both are imported when a poster is made, so Indaba runs
without them installed, only the poster is missing then.

The poster must stay one page whatever the meeting held: it is laid out with
generous limits first, and with tighter ones (fewer items, shorter quotes) until it fits.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from bot.app.web.views import FollowUp, HarvestView, PracticeView, Quote, Ranked

# (agenda items, quotes, practices, characters of a quote) from roomy to tight.
LEVELS = ((10, 6, 6, 320), (8, 5, 5, 220), (6, 4, 4, 160), (4, 3, 3, 110), (3, 2, 2, 80))
PNG_DPI = 100  # an A3 page is 1169 × 1654 pixels: sharp on a screen, light in a chat


@dataclass(frozen=True, slots=True)
class PosterView:
    ranked: list[Ranked]
    quotes: list[tuple[str, Quote]]
    from_themes: bool
    decisions: list[FollowUp]
    actions: list[FollowUp]
    practices: list[PracticeView]


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut + " …"


def _pick(quotes: list[Quote], limit: int) -> Quote | None:
    """The first answer that fits whole, else the first one cut at a word."""
    if not quotes:
        return None
    for quote in quotes:
        if len(" ".join(quote.text.split())) <= limit:
            return Quote(quote.who, " ".join(quote.text.split()))
    return Quote(quotes[0].who, _excerpt(quotes[0].text, limit))


def choose(view: HarvestView, level: int) -> PosterView:
    """What the poster shows at a level of tightness: the main themes with one quote
    each (by size), or where themes are not known, one quote per question."""
    items, quotes, practices, chars = LEVELS[level]
    chosen: list[tuple[str, Quote]] = []
    if view.themes:
        for theme in sorted(view.themes, key=lambda t: -len(t.quotes))[:quotes]:
            picked = _pick(theme.quotes, chars)
            if picked is not None:
                chosen.append((theme.label, picked))
    else:
        for question in view.questions[:quotes]:
            picked = _pick(question.answers, chars)
            if picked is not None:
                chosen.append((f"{question.number}. {_excerpt(question.text, 120)}", picked))
    return PosterView(
        ranked=view.ranked[:items],
        quotes=chosen,
        from_themes=bool(view.themes),
        decisions=view.decisions[:items],
        actions=view.actions[:items],
        practices=[
            PracticeView(_excerpt(p.text, chars), p.who, p.votes)
            for p in view.practices[:practices]
        ],
    )


def pdf(view: HarvestView, html_for: Callable[[PosterView], str]) -> bytes:
    """The poster as a one-page PDF; ``html_for`` renders the poster template."""
    from weasyprint import HTML

    document = None
    for level in range(len(LEVELS)):
        document = HTML(string=html_for(choose(view, level))).render()
        if len(document.pages) == 1:
            break
    assert document is not None
    if len(document.pages) > 1:
        document = document.copy(document.pages[:1])
    data: bytes = document.write_pdf()
    return data


def png(pdf_bytes: bytes, title: str, dpi: int = PNG_DPI) -> bytes:
    """The first page of ``pdf_bytes`` as a PNG, its title in the PNG's text chunk."""
    import pypdfium2
    from PIL.PngImagePlugin import PngInfo

    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
    finally:
        document.close()
    info = PngInfo()
    info.add_text("Title", title)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, optimize=True)
    return out.getvalue()
