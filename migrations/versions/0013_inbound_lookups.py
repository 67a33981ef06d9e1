"""Indexes for the inbound path: each conversation's outbox messages, pending events

An inbound turn looks up messages of its conversation: the last one delivered (is it
an open re-opener?), those held until a reply window opens, open "is this your
answer?" confirmations. With no index on the conversation each lookup read every
message of that status, tens of thousands after a fan-out (31 ms an answer on
PostgreSQL at 60,000 sent messages): ``ix_outbox_conversation``.

The inbox claim read every pending event from the oldest on and sorted them to hand
out the first few (9 to 38 ms a claim with 12,000 waiting): ``ix_inbox_pending`` holds
the pending events in id order, and the claim reads until its batch is full.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'pending'"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_conversation",
        "outbox",
        ["platform", "conversation_id", "status", "sent_at"],
        unique=False,
    )
    op.create_index(
        "ix_inbox_pending",
        "inbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_pending", table_name="inbox")
    op.drop_index("ix_outbox_conversation", table_name="outbox")
