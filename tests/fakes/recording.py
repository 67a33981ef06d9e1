"""The recording API every platform fake shares: what the fake received, by method
and by addressee, in the order it arrived."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Call:
    """One request a fake received: the API method, who it was addressed to (a channel,
    chat or phone number, as a string; "" when none), the decoded parameters, and
    whether the fake accepted it."""

    method: str
    to: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    ok: bool = True
    error: str = ""


class Recorder:
    """Mixed into each fake: ``record`` what arrives, ``calls`` to look it up."""

    def __init__(self) -> None:
        self.log: list[Call] = []

    def record(self, call: Call) -> Call:
        self.log.append(call)
        return call

    def calls(
        self, method: str | None = None, *, to: str | None = None, ok: bool | None = None
    ) -> list[Call]:
        """The calls received, optionally only of ``method``, to ``to``, accepted or not."""
        return [
            call
            for call in self.log
            if (method is None or call.method == method)
            and (to is None or call.to == str(to))
            and (ok is None or call.ok == ok)
        ]

    def forget(self) -> None:
        self.log.clear()
