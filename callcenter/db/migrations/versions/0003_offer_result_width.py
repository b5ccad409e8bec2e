"""widen call_offers.result for "lost_during_disconnect"

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.alter_column(
            "result", existing_type=sa.String(length=16), type_=sa.String(length=32)
        )


def downgrade() -> None:
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.alter_column(
            "result", existing_type=sa.String(length=32), type_=sa.String(length=16)
        )
