"""Dates, times, numbers, plurals and language names in a member's language (Babel/CLDR).

Templates get the same helpers as Jinja filters (:mod:`bot.engine.texts`), in the language the
template is rendered in: ``{{ when|datetime }}``, ``{{ when|date }}``, ``{{ when|time }}``,
``{{ n|number }}`` and ``{{ n|plural('# question', '# questions') }}``.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_location
from babel.numbers import format_decimal

from storage.models import Community, Member

# English as written in the Commonwealth countries Indaba serves ("Thursday 18 March, 15:00");
# Portuguese as in Mozambique, which follows European norms ("0 questões", not "0 questão").
_LOCALES = {"en": "en_GB", "pt": "pt_MZ"}
# CLDR's Swahili full date with a year puts the comma after the day ("Alhamisi 18, Machi
# 2027"); written Swahili puts it after the weekday, as CLDR does without the year.
_YEAR_PATTERNS = {"sw": "EEEE, d MMMM y"}


@cache
def locale(language: str | None) -> Locale:
    """The Babel locale of one of Indaba's languages (English for anything unknown)."""
    try:
        return Locale.parse(_LOCALES.get(language or "en", language or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(_LOCALES["en"])


def language_name(language: str) -> str:
    """The language's own name for itself: English, Français, Português, Kiswahili."""
    # Not get_display_name(), which names the region too ("English (United Kingdom)").
    name = str(locale(language).languages.get(language, language))
    return name[:1].upper() + name[1:]


def _widen(pattern: str) -> str:
    """A CLDR date pattern with the weekday and the month spelt out in full."""
    parts = pattern.split("'")
    for index in range(0, len(parts), 2):  # outside quotes ('de' in Portuguese)
        parts[index] = re.sub(r"[Ec]+", "EEEE", parts[index])
    return "'".join(parts)


@cache
def _date_pattern(language: str | None, year: bool) -> str:
    if year and language in _YEAR_PATTERNS:
        return _YEAR_PATTERNS[language]
    skeletons = locale(language).datetime_skeletons
    return _widen(skeletons["yMMMMEd" if year else "MMMMEd"].pattern)


def format_date(moment: datetime, language: str | None, *, year: bool = False) -> str:
    """``jeudi 18 mars``, ``quinta-feira, 18 de março``, ``Alhamisi, 18 Machi``."""
    return babel_format_datetime(
        moment, _date_pattern(language, year), tzinfo=moment.tzinfo, locale=locale(language)
    )


def format_time(moment: datetime, language: str | None) -> str:
    """The time of day, on the 24-hour clock where the language uses it."""
    return babel_format_datetime(
        moment,
        locale(language).time_formats["short"].pattern,
        tzinfo=moment.tzinfo,
        locale=locale(language),
    )


def zone_label(moment: datetime, language: str | None) -> str:
    """The city that names the moment's timezone, in the language (``Lisboa``), or ``UTC``."""
    zone = moment.tzinfo
    key = getattr(zone, "key", None)
    if zone is None or key in (None, "UTC", "Etc/UTC"):
        return "UTC"
    return str(get_timezone_location(zone, locale=locale(language), return_city=True))


def format_datetime(
    moment: datetime, language: str | None, *, year: bool = False, zone: bool = True
) -> str:
    """``jeudi 18 mars, 15:00 (Nairobi)``: the moment in its own timezone, which is named."""
    text = f"{format_date(moment, language, year=year)}, {format_time(moment, language)}"
    return f"{text} ({zone_label(moment, language)})" if zone else text


def format_number(value: float, language: str | None) -> str:
    return str(format_decimal(value, locale=locale(language)))


def plural(count: int, language: str | None, one: str, other: str, **forms: str) -> str:
    """The form of a word for ``count`` by the language's CLDR plural rule; ``#`` is the number.

    ``one`` and ``other`` are required; ``zero``, ``two``, ``few`` and ``many`` are used where
    the language has them and they are given, else ``other``.
    """
    category = locale(language).plural_form(abs(count))
    chosen = {"one": one, "other": other, **forms}.get(category, other)
    return chosen.replace("#", format_number(count, language))


# -- timezones -------------------------------------------------------------------------


def valid_zone(name: str | None) -> ZoneInfo | None:
    if not name or name in ("", "localtime"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


@cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if "/" in name or name == "UTC"}


def find_zone(typed: str) -> tuple[str | None, list[str]]:
    """The IANA name a member meant (case forgiven, spaces as ``_``), else close names."""
    wanted = typed.strip().replace(" ", "_")
    names = _zone_names()
    exact = names.get(wanted.lower())
    if exact is not None:
        return exact, []
    lowered = wanted.lower()
    # A city alone ("nairobi", "Lisbon") is a zone's last part.
    cities = [name for key, name in names.items() if key.rsplit("/", 1)[-1] == lowered]
    if len(cities) == 1:
        return cities[0], []
    close = difflib.get_close_matches(lowered, list(names), n=3, cutoff=0.6)
    by_city = difflib.get_close_matches(
        lowered, [key.rsplit("/", 1)[-1] for key in names], n=3, cutoff=0.7
    )
    suggestions = [names[key] for key in close]
    for city in by_city:
        suggestions += [n for k, n in names.items() if k.rsplit("/", 1)[-1] == city]
    return None, list(dict.fromkeys(cities + suggestions))[:3]


def zone_of(community: Community, member: Member | None) -> ZoneInfo:
    """The member's own timezone (set with /tz, or from their Slack profile), else the
    community's."""
    if member is not None:
        own = valid_zone(member.timezone)
        if own is not None:
            return own
    return ZoneInfo(community.timezone)


def local(moment: datetime, community: Community, member: Member | None) -> datetime:
    """A stored (UTC) moment in the member's timezone."""
    return moment.astimezone(zone_of(community, member))
