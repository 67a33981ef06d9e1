"""stable agenda item numbers and anonymous ballots

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild: on SQLite, with foreign keys on, dropping the
    # old table would cascade to the votes that point at it).
    op.add_column("agenda_items", sa.Column("number", sa.Integer(), nullable=True))
    op.add_column(
        "agenda_rounds",
        sa.Column("anonymous", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    # Items proposed before numbering are numbered in proposal order within their round.
    op.execute(
        """
        UPDATE agenda_items SET number = (
            SELECT COUNT(*) FROM agenda_items AS earlier
            WHERE earlier.round_id = agenda_items.round_id
              AND (earlier.created_at < agenda_items.created_at
                   OR (earlier.created_at = agenda_items.created_at
                       AND earlier.id <= agenda_items.id))
        )
        """
    )
    op.create_index(
        "uq_agenda_items_round_number", "agenda_items", ["round_id", "number"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_agenda_items_round_number", table_name="agenda_items")
    op.drop_column("agenda_rounds", "anonymous")
    op.drop_column("agenda_items", "number")
