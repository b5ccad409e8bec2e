"""supervision events: the append-only audit trail of monitor, whisper and barge

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:00:00

Every attempt a logged-in user makes to listen in on a call is one row: allowed
(``started``), refused (``refused:<reason>``) or failed at the PBX
(``failed:<reason>``). Triggers make the table append-only on both backends, so
the trail cannot be edited through the application's own database account.
A later SQLite batch migration that copies this table must create them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "supervision_events is append-only"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER supervision_events_no_{verb.lower()}
        BEFORE {verb} ON supervision_events
        BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"""
    for verb in ("UPDATE", "DELETE")
]

_POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION supervision_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_REFUSAL}';
END
$$"""

_POSTGRESQL_TRIGGERS = [
    """CREATE TRIGGER supervision_events_no_change
        BEFORE UPDATE OR DELETE ON supervision_events
        FOR EACH ROW EXECUTE FUNCTION supervision_events_append_only()""",
    """CREATE TRIGGER supervision_events_no_truncate
        BEFORE TRUNCATE ON supervision_events
        FOR EACH STATEMENT EXECUTE FUNCTION supervision_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "supervision_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.Column("spy_leg_id", sa.String(length=96), nullable=True),
        sa.CheckConstraint(
            "mode IN ('monitor', 'whisper', 'barge')", name=op.f("ck_supervision_events_mode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_events")),
    )
    with op.batch_alter_table("supervision_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supervision_events_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supervision_events_call_id"), ["call_id"], unique=False
        )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(_POSTGRESQL_FUNCTION)
        for statement in _POSTGRESQL_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Dropping the table drops its triggers; PostgreSQL's function stays otherwise.
    op.drop_table("supervision_events")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION supervision_events_append_only()")
