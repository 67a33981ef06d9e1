"""The memory adapter: records what Indaba sends, lets a test push inbound events.

It plays a platform whose behaviour a test can script: fail the next sends with a
given error, or declare other capabilities (buttons, a reply window).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.routing import BaseRoute

from bot.adapter import AdapterContext, Capabilities, DeliveryError, EventSink
from bot.messages import InboundEvent, MessageRef, OutgoingMessage


@dataclass(slots=True)
class Sent:
    message: OutgoingMessage
    ref: MessageRef


@dataclass
class MemoryAdapter:
    name: str = "memory"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(reply_to=True))
    sent: list[Sent] = field(default_factory=list)
    # Errors raised by the next sends, in order (None lets one through).
    failures: deque[DeliveryError | None] = field(default_factory=deque)
    # Seconds each send takes, to play a slow platform.
    latency: float = 0.0
    _sink: EventSink | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def start(self, context: AdapterContext) -> None:
        self._sink = context.sink

    async def send(self, message: OutgoingMessage) -> MessageRef:
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.failures:
            failure = self.failures.popleft()
            if failure is not None:
                raise failure
        ref = MessageRef(self.name, message.address.conversation_id, f"m{next(self._ids)}")
        self.sent.append(Sent(message, ref))
        return ref

    async def aclose(self) -> None:
        self._sink = None

    def routes(self) -> Sequence[BaseRoute]:
        return []

    async def push(self, event: InboundEvent) -> None:
        """Deliver an inbound event to Indaba as the platform would."""
        assert self._sink is not None, "start() the adapter first"
        await self._sink(event)

    def pop(self) -> list[Sent]:
        """Everything sent since the last pop."""
        out, self.sent = self.sent, []
        return out

    def to(self, conversation_id: str) -> list[Sent]:
        return [s for s in self.sent if s.message.address.conversation_id == conversation_id]
