"""a Linkedid may come back after an Asterisk restart: index it, do not make it unique

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:10:00

Asterisk names a call ``<system>-<epoch>.<counter>`` and starts the counter again
when it restarts, so a call within the same second of a restart has the Linkedid
of one from before it. Both are real calls and each needs its own record.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_constraint("uq_call_records_pbx_linkedid", type_="unique")
        batch_op.create_index("ix_call_records_pbx_linkedid", ["pbx", "linkedid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_index("ix_call_records_pbx_linkedid")
        batch_op.create_unique_constraint("uq_call_records_pbx_linkedid", ["pbx", "linkedid"])
