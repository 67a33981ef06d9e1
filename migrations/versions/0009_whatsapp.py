"""WhatsApp costs: an index on the outbox for a community's messages by the time sent

A community's templates this month are counted from its sent outbox rows, for
``indaba status`` and for its monthly template cap, checked as the delivery loop sends.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_community_sent", "outbox", ["community_id", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_community_sent", table_name="outbox")
