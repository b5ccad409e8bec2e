"""reason and disposition codes, the audit trail, supervisors' queues, wrap-ups on calls

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 10:00:00

The agent's disposition and notes are kept on the call record too, so a call
from an unknown number keeps its wrap-up. ``audit_events`` is append-only by
triggers on both backends, like ``supervision_events`` (0006) and
``call_events`` (0007).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "audit_events is append-only"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_events_no_{verb.lower()}
        BEFORE {verb} ON audit_events
        BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"""
    for verb in ("UPDATE", "DELETE")
]

_POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_REFUSAL}';
END
$$"""

_POSTGRESQL_TRIGGERS = [
    """CREATE TRIGGER audit_events_no_change
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    """CREATE TRIGGER audit_events_no_truncate
        BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]


def upgrade() -> None:
    # Plain ALTERs, not a batch: SQLite would copy call_records, which the legs
    # table's foreign key refuses to let go of.
    op.add_column("call_records", sa.Column("disposition", sa.String(length=64), nullable=True))
    op.add_column("call_records", sa.Column("wrap_up_notes", sa.Text(), nullable=True))
    op.create_index(op.f("ix_call_records_disposition"), "call_records", ["disposition"])
    for table in ("reason_codes", "disposition_codes"):
        flag = "productive" if table == "reason_codes" else "requires_notes"
        op.create_table(
            table,
            sa.Column("code", sa.String(length=32), nullable=False),
            sa.Column("label", sa.String(length=100), nullable=False),
            sa.Column(flag, sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
            sa.PrimaryKeyConstraint("code", name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_username"), ["username"], unique=False)
    op.create_table(
        "supervisor_queues",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_supervisor_queues_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_supervisor_queues_queue_id_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "queue_id", name=op.f("pk_supervisor_queues")),
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
    op.drop_table("supervisor_queues")
    # Dropping the table drops its triggers; PostgreSQL's function stays otherwise.
    op.drop_table("audit_events")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION audit_events_append_only()")
    op.drop_table("disposition_codes")
    op.drop_table("reason_codes")
    op.drop_index(op.f("ix_call_records_disposition"), table_name="call_records")
    op.drop_column("call_records", "wrap_up_notes")
    op.drop_column("call_records", "disposition")
