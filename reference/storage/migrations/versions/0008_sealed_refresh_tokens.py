"""refresh tokens sealed by their parent, so that the parent of the active token is answered with it

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.add_column(sa.Column("sealed", sa.String(length=128), nullable=True))
        batch.create_index("ix_refresh_tokens_parent_id", ["parent_id"])


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_index("ix_refresh_tokens_parent_id")
        batch.drop_column("sealed")
