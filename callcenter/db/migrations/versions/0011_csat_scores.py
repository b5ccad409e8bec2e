"""post-call survey scores on calls and their interactions

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:55:00

A caller who stays on after the agent hangs up keys a 1-5 score in
``[callcenter-survey]``; it is kept on the call record (CSAT by queue) and on the
call's interaction (the customer's history shows it). Nullable: most calls have
no survey, and a missing answer is not a score.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN, not a batch copy: on SQLite a copied call_records
    # would be dropped under foreign_keys=ON while legs and events point at it.
    op.add_column("call_records", sa.Column("csat_score", sa.SmallInteger(), nullable=True))
    op.add_column("interactions", sa.Column("csat_score", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("interactions", "csat_score")
    op.drop_column("call_records", "csat_score")
