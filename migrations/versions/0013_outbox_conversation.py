"""Outbox: an index on each conversation's messages

An inbound turn looks up messages of its conversation: the last one delivered (is it
an open re-opener?), those held until a reply window opens, open "is this your
answer?" confirmations. With no index on the conversation each lookup read every
message of that status, tens of thousands after a fan-out (31 ms an answer on
PostgreSQL at 60,000 sent messages).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_conversation",
        "outbox",
        ["platform", "conversation_id", "status", "sent_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_conversation", table_name="outbox")
