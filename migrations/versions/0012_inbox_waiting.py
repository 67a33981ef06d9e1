"""Inbox: an index on the waiting events of each conversation

The claim asks, for each event it could hand out, whether an earlier event of the same
conversation is still waiting or being handled. Through ``ix_inbox_conversation`` that
question read the conversation's whole history of handled events; this index holds the
waiting ones only.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "status IN ('pending', 'handling')"


def upgrade() -> None:
    op.create_index(
        "ix_inbox_waiting",
        "inbox",
        ["conversation_key", "id"],
        unique=False,
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_inbox_waiting", table_name="inbox")
