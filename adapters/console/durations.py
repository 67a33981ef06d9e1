"""Durations typed at the console's ``/clock``."""

from __future__ import annotations

import re
from datetime import timedelta


def parse_duration(text: str) -> timedelta:
    """Parse ``+7d``, ``2h``, ``30m``, ``1w``, ``3d12h`` into a timedelta."""
    spec = text.strip().lstrip("+")
    parts = re.findall(r"(\d+)\s*([wdhms])", spec)
    if not parts or "".join(n + u for n, u in parts) != spec.replace(" ", ""):
        raise ValueError(f"not a duration: {text!r} (try +7d, +12h, +30m, +1w)")
    units = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    kwargs: dict[str, float] = {}
    for number, unit in parts:
        kwargs[units[unit]] = kwargs.get(units[unit], 0) + int(number)
    return timedelta(**kwargs)
