"""Message texts and question libraries, loaded from ``prompts/`` (YAML + Jinja).

Texts are Jinja templates in neutral markup (:mod:`bot.markup`). Every value put
into a template is escaped unless it is wrapped in :class:`Markup`, so member text
can never inject formatting.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template

from bot import markup

DEFAULT_LANGUAGE = "en"


class Markup(str):
    """Text already in neutral markup, put into a template as it is."""

    __slots__ = ()


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return markup.escape(value)
    return value


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
        self._cache: dict[tuple[str, str], Template] = {}

    @cached_property
    def _sources(self) -> dict[str, dict[str, str]]:
        """``texts/<language>/*.yaml``, one file per feature, merged per language."""
        sources: dict[str, dict[str, str]] = {}
        for path in sorted((self._dir / "texts").glob("*/*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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
        return sorted(self._sources)

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
        return template.render(**values).strip("\n")

    @cached_property
    def questions(self) -> dict[str, list[LibraryQuestion]]:
        """The question library: one ordered list of questions per meeting kind."""
        merged: dict[str, dict[str, dict[str, str]]] = {}
        order: dict[str, list[str]] = {}
        for path in sorted((self._dir / "questions").glob("*.yaml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
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
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
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
