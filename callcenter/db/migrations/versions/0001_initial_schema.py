"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 00:20:25.312690
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("dial_string", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=16), nullable=False),
        sa.Column("pbx", sa.String(length=32), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "location IN ('on_site', 'remote_site', 'home', 'partner')",
            name=op.f("ck_agents_location"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("login", name=op.f("uq_agents_login")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("lifetime_value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("account_number", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "tier IN ('bronze', 'silver', 'gold', 'platinum')", name=op.f("ck_customers_tier")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("account_number", name=op.f("uq_customers_account_number")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint("name", name=op.f("uq_skills_name")),
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("proficiency", sa.Integer(), nullable=False),
        sa.CheckConstraint("proficiency BETWEEN 1 AND 5", name=op.f("ck_agent_skills_proficiency")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_skills_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_agent_skills_skill_id_skills")
        ),
        sa.PrimaryKeyConstraint("agent_id", "skill_id", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "agent_state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_state_changes_agent_id_agents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_changes")),
    )
    with op.batch_alter_table("agent_state_changes", schema=None) as batch_op:
        batch_op.create_index("ix_agent_state_changes_agent_time", ["agent_id", "at"], unique=False)

    op.create_table(
        "call_records",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("pbx", sa.String(length=32), nullable=False),
        sa.Column("linkedid", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("abandon_phase", sa.String(length=16), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("agent_target", sa.String(length=128), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_call_records_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_call_records_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_records")),
        sa.UniqueConstraint("pbx", "linkedid", name="uq_call_records_pbx_linkedid"),
    )
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_records_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_call_records_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_call_records_enqueued_at"), ["enqueued_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_call_records_queue"), ["queue"], unique=False)

    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disposition", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_interactions_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interactions_customer_time", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interactions_occurred_at"), ["occurred_at"], unique=False
        )

    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_phone_numbers_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_numbers")),
        sa.UniqueConstraint("customer_id", "e164", name="uq_phone_numbers_customer_e164"),
    )
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_phone_numbers_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_phone_numbers_e164"), ["e164"], unique=False)

    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("ring_timeout_s", sa.Integer(), nullable=False),
        sa.Column("did", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_queues_skill_id_skills")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queues")),
        sa.UniqueConstraint("did", name=op.f("uq_queues_did")),
        sa.UniqueConstraint("name", name=op.f("uq_queues_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("roles", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name=op.f("fk_users_agent_id_agents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("agent_id", name=op.f("uq_users_agent_id")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "call_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("leg_id", sa.String(length=96), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("agent_target", sa.String(length=128), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_call_offers_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call_records.id"], name=op.f("fk_call_offers_call_id_call_records")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_offers")),
        sa.UniqueConstraint("leg_id", name=op.f("uq_call_offers_leg_id")),
    )
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_offers_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_offers_call_id"))

    op.drop_table("call_offers")
    op.drop_table("users")
    op.drop_table("queues")
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phone_numbers_e164"))
        batch_op.drop_index(batch_op.f("ix_phone_numbers_customer_id"))

    op.drop_table("phone_numbers")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interactions_occurred_at"))
        batch_op.drop_index("ix_interactions_customer_time")

    op.drop_table("interactions")
    with op.batch_alter_table("call_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_records_queue"))
        batch_op.drop_index(batch_op.f("ix_call_records_enqueued_at"))
        batch_op.drop_index(batch_op.f("ix_call_records_customer_id"))
        batch_op.drop_index(batch_op.f("ix_call_records_agent_id"))

    op.drop_table("call_records")
    with op.batch_alter_table("agent_state_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_state_changes_agent_time")

    op.drop_table("agent_state_changes")
    op.drop_table("agent_skills")
    op.drop_table("skills")
    op.drop_table("customers")
    op.drop_table("agents")
