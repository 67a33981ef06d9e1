"""answers, practices, wall entries and agenda items a facilitator can hide; the audit
log; what each member's text was last filed as (for /undo)

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HIDEABLE = ("replies", "practices", "wall_entries", "agenda_items")


def upgrade() -> None:
    # Plain ADD COLUMN on every database (no batch rebuild: on SQLite, with foreign keys
    # on, dropping the old table would cascade to the votes that point at it).
    for table in HIDEABLE:
        op.add_column(
            table,
            sa.Column("hidden_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        )
        op.add_column(table, sa.Column("hidden_by", sa.Integer(), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["members.id"],
            name=op.f("fk_audit_log_actor_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["members.id"],
            name=op.f("fk_audit_log_author_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["communities.id"],
            name=op.f("fk_audit_log_community_id_communities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_community_at", "audit_log", ["community_id", "at"])
    op.create_table(
        "filings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=True),
        sa.Column("previous", sa.Text(), nullable=True),
        sa.Column("filed_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_filings_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
        sa.UniqueConstraint("member_id", name=op.f("uq_filings_member_id")),
    )


def downgrade() -> None:
    op.drop_table("filings")
    op.drop_index("ix_audit_log_community_at", table_name="audit_log")
    op.drop_table("audit_log")
    for table in reversed(HIDEABLE):
        # SQLite drops a column in place since 3.35; batch mode would rebuild the table.
        op.drop_column(table, "hidden_by")
        op.drop_column(table, "hidden_at")
