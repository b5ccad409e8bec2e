"""call legs and the call event log: transfers, consultations, conferences, holds

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 09:00:00

A call keeps one ``call_records`` row as it passes from agent to agent; each
party is a leg in ``call_offers`` (now also ``transfer``, ``consult`` and
``conference`` legs, and legs to outside numbers with no agent), with the span
it talked and the hold it put the caller on, so each agent is credited with
their own part only. ``call_events`` is the call's step-by-step log, made
append-only by triggers on both backends as ``supervision_events`` is (0006).
A later SQLite batch migration that copies ``call_events`` must create them again.

Legs answered before this revision get their talk span from what was known:
an answered offer's ``ended_at`` is when it was answered, and its agent talked
until the call ended.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "call_events is append-only"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER call_events_no_{verb.lower()}
        BEFORE {verb} ON call_events
        BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"""
    for verb in ("UPDATE", "DELETE")
]

_POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION call_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_REFUSAL}';
END
$$"""

_POSTGRESQL_TRIGGERS = [
    """CREATE TRIGGER call_events_no_change
        BEFORE UPDATE OR DELETE ON call_events
        FOR EACH ROW EXECUTE FUNCTION call_events_append_only()""",
    """CREATE TRIGGER call_events_no_truncate
        BEFORE TRUNCATE ON call_events
        FOR EACH STATEMENT EXECUTE FUNCTION call_events_append_only()""",
]

_BACKFILL_ANSWERED_LEGS = """
UPDATE call_offers
SET answered_at = ended_at,
    left_at = (SELECT call_records.ended_at FROM call_records
               WHERE call_records.id = call_offers.call_id)
WHERE result = 'answered' AND answered_at IS NULL
"""


def upgrade() -> None:
    # call_offers is copied on SQLite (a column becomes nullable, a CHECK is
    # added); nothing refers to it, so dropping the old copy is safe.
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="offer", nullable=False)
        )
        batch_op.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("left_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("held_s", sa.Float(), server_default="0", nullable=False))
        batch_op.alter_column("agent_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_call_offers_kind"), "kind IN ('offer', 'transfer', 'consult', 'conference')"
        )
        batch_op.create_index(
            batch_op.f("ix_call_offers_answered_at"), ["answered_at"], unique=False
        )
    # A plain ADD COLUMN on SQLite too (a constant default needs no copy): a
    # copied call_records would be dropped under foreign_keys=ON while its legs
    # still point at it.
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_s", sa.Float(), server_default="0", nullable=False))
    op.execute(_BACKFILL_ANSWERED_LEGS)

    op.create_table(
        "call_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_events")),
    )
    with op.batch_alter_table("call_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_events_at"), ["at"], unique=False)
        batch_op.create_index("ix_call_events_call_time", ["call_id", "at"], unique=False)
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
    op.drop_table("call_events")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION call_events_append_only()")

    # Not through a copy on SQLite (3.35+ drops a column in place): see upgrade.
    op.drop_column("call_records", "hold_s")
    # The old schema has no room for a leg without an agent: those legs go.
    op.execute("DELETE FROM call_offers WHERE agent_id IS NULL")
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_offers_answered_at"))
        batch_op.drop_constraint(op.f("ck_call_offers_kind"), type_="check")
        batch_op.alter_column("agent_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("held_s")
        batch_op.drop_column("left_at")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("kind")
