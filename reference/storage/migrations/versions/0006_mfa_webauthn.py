"""webauthn credentials of MFA factors

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mfa_factors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webauthn_credential_id", sa.String(length=1366), nullable=True))
        batch_op.add_column(sa.Column("webauthn_public_key", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("webauthn_sign_count", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mfa_factors", schema=None) as batch_op:
        batch_op.drop_column("webauthn_sign_count")
        batch_op.drop_column("webauthn_public_key")
        batch_op.drop_column("webauthn_credential_id")
