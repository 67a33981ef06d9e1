"""Rate windows: the platform's whole burst at once, never more in any window, and a
send held up on its way keeps its place until its answer is back."""

from __future__ import annotations

import asyncio
import time

from bot.pacing import RateWindow, sending_all

PER = 0.2


async def test_a_burst_of_the_limit_then_room_as_the_window_moves() -> None:
    window = RateWindow(5, per=PER)
    started = time.monotonic()
    times = []
    for _ in range(7):
        async with window.sending():
            times.append(time.monotonic() - started)
    assert all(at < PER / 4 for at in times[:5]), times
    assert all(at >= PER for at in times[5:]), times


async def test_a_send_held_up_keeps_its_place_until_it_is_answered() -> None:
    window = RateWindow(1, per=PER)
    answered: list[float] = []
    started: list[float] = []

    async def send(delay: float) -> None:
        async with window.sending():
            started.append(time.monotonic())
            await asyncio.sleep(delay)
            answered.append(time.monotonic())

    # The first send is slow: the platform may have seen it as late as its answer, so
    # the next starts a window after the answer, not a window after the first left.
    await asyncio.gather(send(PER / 2), send(0.0))
    assert started[1] - answered[0] >= PER * 0.99, (started, answered)


async def test_places_in_several_windows_are_given_back_whatever_happened() -> None:
    chat, overall = RateWindow(1, per=PER), RateWindow(10, per=PER)
    try:
        async with sending_all(chat, overall):
            raise RuntimeError("the platform failed")
    except RuntimeError:
        pass
    # Both places were given back: once the window has moved, both have room again.
    await asyncio.sleep(PER)
    async with sending_all(chat, overall):
        pass
    # A wait cancelled while holding the first place (the second window is full)
    # gives the first back too.
    first, full = RateWindow(1, per=PER), RateWindow(1, per=PER)
    async with full.sending():
        pass

    async def send() -> None:
        async with sending_all(first, full):
            pass

    blocked = asyncio.ensure_future(send())
    await asyncio.sleep(0.01)
    assert not blocked.done()
    blocked.cancel()
    await asyncio.sleep(PER)
    started = time.monotonic()
    async with asyncio.timeout(PER):
        async with first.sending():
            assert time.monotonic() - started < PER / 2


def test_a_shared_window_keeps_a_margin_for_sends_from_other_processes() -> None:
    assert RateWindow(30).shared_limit == 28
    assert RateWindow(80).shared_limit == 76
    assert RateWindow(1).shared_limit == 1
    assert (RateWindow(0.5).limit, RateWindow(0.5).per) == (1, 2.0)
