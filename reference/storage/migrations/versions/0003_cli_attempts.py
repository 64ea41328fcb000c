"""CLI login attempts

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cli_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("polling_code_hash", sa.String(length=64), nullable=False),
        sa.Column("login_code_hash", sa.String(length=64), nullable=False),
        sa.Column("anonymous_user_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("anonymous_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["anonymous_user_id"],
            ["users.id"],
            name=op.f("fk_cli_attempts_anonymous_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_cli_attempts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cli_attempts")),
        sa.UniqueConstraint("login_code_hash", name=op.f("uq_cli_attempts_login_code_hash")),
        sa.UniqueConstraint("polling_code_hash", name=op.f("uq_cli_attempts_polling_code_hash")),
    )
    with op.batch_alter_table("cli_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cli_attempts_anonymous_user_id"), ["anonymous_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cli_attempts_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cli_attempts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("cli_attempts")
