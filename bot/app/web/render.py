"""The pages' HTML, from the Jinja templates under ``prompts/web/``.

Member text is escaped by Jinja's autoescape; labels come from
``prompts/texts/<language>/web.yaml`` through :class:`~bot.engine.texts.Texts`, in the
community's language, so a translator changes them without touching a template.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from bot.engine.texts import Texts


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


class Renderer:
    """Renders a page template with its view, labels in the view's language."""

    def __init__(self, texts: Texts, templates: Path) -> None:
        self.texts = texts
        self._env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

        @pass_context
        def label(context: Context, key: str, /, **values: Any) -> str:
            return texts.render(f"web.{key}", str(context.get("lang", "en")), **values)

        self._env.globals["t"] = label
        self._env.filters.update(
            when=_when,
            topic_size=lambda topic: (topic[0], len({who for who, _ in topic[1]})),
            ranked_bar=lambda row: (f"{row.rank}. {row.title}", row.votes),
            question_bar=lambda q: (f"{q.number}. {q.text}", len(q.answers)),
            theme_bar=lambda theme: (theme.label, len(theme.quotes)),
            practice_bar=lambda p: (p.text, p.votes),
        )
        self._env.globals["charts"] = self._env.get_template("charts.html").module

    def page(self, name: str, language: str, **values: Any) -> str:
        return self._env.get_template(name).render(lang=language, **values)
