"""PKCE for mailed links: the authentication method of a flow state, and the flow a mail belongs to

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("flow_states") as batch:
        batch.add_column(sa.Column("authentication_method", sa.String(length=32), nullable=True))
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("flow_state_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_column("flow_state_id")
    with op.batch_alter_table("flow_states") as batch:
        batch.drop_column("authentication_method")
