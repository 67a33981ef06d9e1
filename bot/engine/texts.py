"""Message texts and question libraries, loaded from ``prompts/`` (YAML + Jinja).

Texts are Jinja templates in neutral markup (:mod:`bot.markup`). Every value put
into a template is escaped unless it is wrapped in :class:`Markup`, so member text
can never inject formatting.

The languages are the folders of ``prompts/texts/``. Templates format dates, numbers and
plurals in the language they are rendered in, through filters backed by
:mod:`bot.engine.i18n`: ``{{ when|datetime }}`` (``jeudi 18 mars, 15:00 (Nairobi)``),
``{{ when|date }}``, ``{{ when|time }}``, ``{{ n|number }}`` and
``{{ n|plural('# question', '# questions') }}`` (``#`` is the number; CLDR's ``one`` and
``other`` forms, with ``zero=``, ``two=``, ``few=`` and ``many=`` where a language has them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template, pass_context
from jinja2.runtime import Context

from bot import markup
from bot.engine import i18n

DEFAULT_LANGUAGE = "en"
# libyaml's parser where PyYAML has it: every process reads all the texts at start, and
# the pure-Python parser takes ten times longer over them.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)


class Markup(str):
    """Text already in neutral markup, put into a template as it is."""

    __slots__ = ()


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return markup.escape(value)
    return value


# The template's language, set by Texts.render for the i18n filters.
_LANGUAGE = "_language"


def _in_language(
    format_: Callable[..., str],
) -> Callable[..., Markup]:
    """A filter calling ``format_(value, language, ...)`` with the template's language.

    What it returns comes from CLDR data or from the template itself (plural forms), so
    it is put in as it is, not escaped.
    """

    @pass_context
    def apply(context: Context, value: Any, *args: Any, **kwargs: Any) -> Markup:
        return Markup(
            format_(value, str(context.get(_LANGUAGE, DEFAULT_LANGUAGE)), *args, **kwargs)
        )

    return apply


def _plural(count: int, language: str, one: str, other: str, **forms: str) -> str:
    return i18n.plural(count, language, one, other, **forms)


def _datetime(moment: datetime, language: str, year: bool = False) -> str:
    return i18n.format_datetime(moment, language, year=year)


def _date(moment: datetime, language: str, year: bool = False) -> str:
    return i18n.format_date(moment, language, year=year)


@dataclass(frozen=True, slots=True)
class LibraryQuestion:
    key: str
    text: dict[str, str]

    def in_language(self, language: str) -> str:
        return self.text.get(language) or self.text[DEFAULT_LANGUAGE]


class Texts:
    """All message templates, per language, with English as the fallback."""

    def __init__(self, prompts_dir: Path) -> None:
        self._dir = prompts_dir
        self._env = Environment(
            finalize=_finalize, undefined=StrictUndefined, keep_trailing_newline=False
        )
        self._env.filters["esc"] = lambda value: Markup(markup.escape(str(value)))
        self._env.filters.update(
            datetime=_in_language(_datetime),
            date=_in_language(_date),
            time=_in_language(i18n.format_time),
            number=_in_language(i18n.format_number),
            plural=_in_language(_plural),
        )
        self._cache: dict[tuple[str, str], Template] = {}

    @property
    def environment(self) -> Environment:
        """The Jinja environment templates are compiled in (with Indaba's filters)."""
        return self._env

    @cached_property
    def _sources(self) -> dict[str, dict[str, str]]:
        """``texts/<language>/*.yaml``, one file per feature, merged per language."""
        sources: dict[str, dict[str, str]] = {}
        for path in sorted((self._dir / "texts").glob("*/*.yaml")):
            data = _load(path.read_text(encoding="utf-8")) or {}
            language = sources.setdefault(path.parent.name, {})
            for key, value in data.items():
                if str(key) in language:
                    raise ValueError(f"text {key!r} is defined twice for {path.parent.name}")
                language[str(key)] = str(value).rstrip("\n")
        if DEFAULT_LANGUAGE not in sources:
            raise FileNotFoundError(f"no {DEFAULT_LANGUAGE}/ texts under {self._dir / 'texts'}")
        return sources

    @property
    def languages(self) -> list[str]:
        """Every language with a folder under ``prompts/texts/``."""
        return sorted(self._sources)

    def language_names(self) -> list[str]:
        """``en (English)``, ``fr (Français)``, ...: the languages as a member picks them."""
        return [f"{code} ({i18n.language_name(code)})" for code in self.languages]

    def has(self, key: str) -> bool:
        return key in self._sources[DEFAULT_LANGUAGE]

    def render(self, key: str, language: str | None = None, /, **values: Any) -> str:
        lang = language if language in self._sources else DEFAULT_LANGUAGE
        assert lang is not None
        if key not in self._sources[lang]:
            lang = DEFAULT_LANGUAGE
        template = self._cache.get((lang, key))
        if template is None:
            template = self._env.from_string(self._sources[lang][key])
            self._cache[(lang, key)] = template
        return template.render({_LANGUAGE: lang}, **values).strip("\n")

    @cached_property
    def questions(self) -> dict[str, list[LibraryQuestion]]:
        """The question library: one ordered list of questions per meeting kind."""
        merged: dict[str, dict[str, dict[str, str]]] = {}
        order: dict[str, list[str]] = {}
        for path in sorted((self._dir / "questions").glob("*.yaml")):
            data = _load(path.read_text(encoding="utf-8")) or {}
            for kind, entries in data.items():
                for entry in entries:
                    key = str(entry["key"])
                    merged.setdefault(kind, {}).setdefault(key, {})[path.stem] = str(
                        entry["text"]
                    ).strip()
                    if key not in order.setdefault(kind, []) and path.stem == DEFAULT_LANGUAGE:
                        order[kind].append(key)
        return {
            kind: [LibraryQuestion(key, merged[kind][key]) for key in keys]
            for kind, keys in order.items()
        }

    @cached_property
    def provocations(self) -> list[LibraryQuestion]:
        """Indaba's own weekly questions, in the English file's order."""
        merged: dict[str, dict[str, str]] = {}
        order: list[str] = []
        for path in sorted((self._dir / "provocations").glob("*.yaml")):
            for entry in _load(path.read_text(encoding="utf-8")) or []:
                key = str(entry["key"])
                merged.setdefault(key, {})[path.stem] = str(entry["text"]).strip()
                if path.stem == DEFAULT_LANGUAGE and key not in order:
                    order.append(key)
        return [LibraryQuestion(key, merged[key]) for key in order]

    def library_question(self, key: str) -> LibraryQuestion | None:
        for questions in self.questions.values():
            for question in questions:
                if question.key == key:
                    return question
        return None
