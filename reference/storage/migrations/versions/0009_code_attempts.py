"""wrong guesses counted per one-time code, found by the address it was mailed to

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("one_time_tokens") as batch:
        batch.add_column(sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False))
        batch.create_index("ix_one_time_tokens_relates_to", ["relates_to"])


def downgrade() -> None:
    with op.batch_alter_table("one_time_tokens") as batch:
        batch.drop_index("ix_one_time_tokens_relates_to")
        batch.drop_column("failed_attempts")
