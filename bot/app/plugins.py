"""Finding the adapters to run: entry points of the group ``indaba.adapters``.

Each entry point names a factory ``create() -> Adapter | None`` that reads its
own settings and returns None when its platform is not configured. The engine never
imports an adapter; the installed package declares them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import cast

from bot.adapter import Adapter
from bot.app.settings import Settings

log = logging.getLogger(__name__)

GROUP = "indaba.adapters"
CONSOLE = "console"

Factory = Callable[[], Adapter | None]


def factories() -> dict[str, Factory]:
    """Every installed adapter factory; one that cannot be imported is left out, loudly."""
    found: dict[str, Factory] = {}
    for entry in entry_points(group=GROUP):
        try:
            found[entry.name] = cast(Factory, entry.load())
        except ImportError as error:
            log.error("adapter %s cannot be loaded and is left out: %s", entry.name, error)
    return found


def configured_adapters(settings: Settings, *, console: bool | None = None) -> list[Adapter]:
    """Every platform whose credentials are set; the console when none is (or when asked).

    Each adapter reads its own settings; ``settings`` are the core ones, for symmetry
    with the rest of the wiring.
    """
    del settings
    found = factories()
    adapters: list[Adapter] = []
    if console is not True:
        for name, factory in sorted(found.items()):
            if name == CONSOLE:
                continue
            adapter = factory()
            if adapter is not None:
                adapters.append(adapter)
    if console or (console is None and not adapters):
        console_adapter = found[CONSOLE]()
        assert console_adapter is not None
        adapters.append(console_adapter)
    return adapters
