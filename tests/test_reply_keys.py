"""A reply's key in the outbox fits its column whatever ids the platform sent."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.messages import MessageReceived, Sender
from storage.models import OutboxMessage, Reply
from tests.harness import Harness, to
from tests.test_filing import questions_out


async def test_an_answer_with_long_ids_is_kept_and_answered(harness: Harness) -> None:
    h = harness
    # Ids as long as Indaba stores them (128 characters each): together with the
    # platform's name they are longer than the outbox's key (200).
    member, message_id = "u" * 100, "m" * 128
    await questions_out(h, members=("amina", member))
    conversation = h.conversation("dm", member)
    sender = Sender(h.adapter.name, member, "Long")
    answer = MessageReceived(conversation, sender, message_id, text="Our budget portal went live")
    await h.adapter.push(answer)
    sent = to(await h.settle(), member)
    assert sent[0].startswith("Saved as your answer to question 1 of 3")
    assert "Question 2 of 3" in sent[1]
    async with h.indaba.sessions() as session:
        assert (await session.scalars(select(Reply.message_id))).all() == [message_id]
        longest = await session.scalar(select(func.max(func.length(OutboxMessage.idempotency_key))))
        assert longest is not None and longest <= 200
