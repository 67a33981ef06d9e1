"""indexes for the brief, harvest and digest counted by the database

A meeting's prompts member by member with the columns the counts read (the brief's,
the harvest's and the digest's GROUP BY queries, without table lookups or a sort), and
answers by the time they came in (the digest's week); identities by member (a fan-out
loads each page of members' identities by member id).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_prompts_meeting_member",
        "prompts",
        ["meeting_id", "member_id", "question_id", "status", "asked_at"],
        unique=False,
    )
    op.create_index("ix_replies_received", "replies", ["received_at"], unique=False)
    op.create_index("ix_identities_member", "identities", ["member_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_identities_member", table_name="identities")
    op.drop_index("ix_replies_received", table_name="replies")
    op.drop_index("ix_prompts_meeting_member", table_name="prompts")
