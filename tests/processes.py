"""What tests and benchmarks need to run Indaba as a real process, on the real clock: a
free port, an environment holding only the ``INDABA_`` settings they give, and a
timezone in which the members are awake."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from datetime import datetime

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (free when asked)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ready(base: str, within: float = 60, why: str = "") -> None:
    """Wait until the Indaba serving ``base`` (``http://host:port``) answers ``/readyz``
    with 200; TimeoutError after ``within`` seconds (``why`` says where to look)."""
    started = time.monotonic()
    async with httpx.AsyncClient() as client:
        while time.monotonic() - started < within:
            try:
                if (await client.get(f"{base}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"Indaba at {base} did not become ready in {within:g} s{why}")


def midday_zone(now: datetime) -> str:
    """A timezone where it is about noon at ``now`` (aware, UTC). A community seeded in it
    gets its questions at once: in the members' quiet hours (21:00-07:00 by default)
    they rightly wait for the morning."""
    offset = 12 - now.hour  # from +12 to -11 hours, all of them real zones
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-3 is UTC+3


def indaba_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without its own ``INDABA_`` settings, plus ``settings``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("INDABA_")},
        **settings,
    }
