"""routing rule versions: the rules document, one row per version

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00

The router's rules live in the database so that every node reads the same ones
and a change applies to callers already waiting. Each version is kept (who wrote
it, why, when it went live) for the admin editor's diff and rollback.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "routing_rule_versions",
        # Numbered by the publisher, not a sequence (no SERIAL on PostgreSQL).
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_routing_rule_versions")),
    )
    with op.batch_alter_table("routing_rule_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_routing_rule_versions_published_at"), ["published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("routing_rule_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routing_rule_versions_published_at"))

    op.drop_table("routing_rule_versions")
