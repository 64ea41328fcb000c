"""the anonymous session a CLI login attempt was created with, re-checked at claim and merge

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cli_attempts") as batch:
        batch.add_column(sa.Column("anonymous_session_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cli_attempts") as batch:
        batch.drop_column("anonymous_session_id")
