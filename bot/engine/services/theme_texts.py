"""The themes, put into words for the brief, the harvest and the digest (texts under
``prompts/texts/<language>/themes.yaml``)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.engine.services.dots import Dots, Recurring
from bot.engine.services.meetings import local_time
from bot.engine.services.themes import Theme
from bot.engine.texts import Markup, Texts
from storage.models import Community


def overview(texts: Texts, themes: Sequence[Theme], language: str) -> Markup:
    """ "Four themes; the largest, boreholes · water points · maps, 6 members." """
    if not themes:
        return Markup("")
    return Markup(texts.render("themes.overview", language, themes=list(themes)))


def _months(texts: Texts, community: Community, found: Recurring, language: str) -> list[str]:
    seen: list[str] = []
    for start in found.meetings:
        local = local_time(community, start)
        month = texts.render("themes.month", language, month=local.month, year=local.year)
        if month not in seen:
            seen.append(month)
    return seen


def connections(texts: Texts, community: Community, dots: Dots | None, language: str) -> Markup:
    """Themes that recur, themes never on an agenda, and the quiet voices."""
    if dots is None:
        return Markup("")
    return Markup(
        texts.render(
            "themes.connections",
            language,
            recurring=[
                (r.theme, _months(texts, community, r, language), r.first) for r in dots.recurring
            ],
            proposals=[(r.theme, r.first) for r in dots.proposals],
            quiet=dots.quiet,
            quiet_meetings=dots.quiet_meetings,
        )
    )
