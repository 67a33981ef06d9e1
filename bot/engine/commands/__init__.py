"""Every ``/command``, choice handler, join hook and awaiting probe, registered on one
:class:`~bot.engine.registry.Registry` by :func:`build_registry`."""

from __future__ import annotations

from bot.engine.commands import (
    action,
    agenda,
    digest,
    filing,
    harvest,
    help,
    home,
    meeting,
    membership,
    moderation,
    numbers,
    onboarding,
    practice,
    privacy,
    questions,
    reopener,
    wall,
    weekly_question,
)
from bot.engine.registry import Registry

MODULES = (
    help,
    onboarding,
    membership,
    meeting,
    questions,
    agenda,
    action,
    wall,
    practice,
    harvest,
    digest,
    weekly_question,
    home,
    reopener,
    privacy,
    numbers,
    filing,
    moderation,
)


def build_registry() -> Registry:
    """A registry holding everything Indaba answers; the wiring builds one per process."""
    registry = Registry()
    for module in MODULES:
        module.register(registry)
    return registry


__all__ = ["build_registry"]
