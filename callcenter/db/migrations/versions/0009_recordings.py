"""recordings and the agents heard on them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 15:00:00

One row per recorded call (its legs' files joined into one), kept after the
file is deleted by retention (``deleted_at``) so the history says it existed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        sa.Column("sections", sa.Text(), nullable=False),
        sa.Column("pauses", sa.Text(), nullable=False),
        sa.Column("missing_legs", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_records.id"], name=op.f("fk_recordings_call_id_call_records")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_recordings_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recordings")),
        sa.UniqueConstraint("call_id", name=op.f("uq_recordings_call_id")),
    )
    op.create_index(op.f("ix_recordings_queue"), "recordings", ["queue"])
    op.create_index(op.f("ix_recordings_customer_id"), "recordings", ["customer_id"])
    op.create_index(op.f("ix_recordings_started_at"), "recordings", ["started_at"])
    op.create_table(
        "recording_agents",
        sa.Column("recording_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["recordings.id"],
            name=op.f("fk_recording_agents_recording_id_recordings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_recording_agents_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("recording_id", "agent_id", name=op.f("pk_recording_agents")),
    )
    op.create_index(op.f("ix_recording_agents_agent_id"), "recording_agents", ["agent_id"])


def downgrade() -> None:
    op.drop_table("recording_agents")
    op.drop_table("recordings")
