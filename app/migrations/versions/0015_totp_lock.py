"""totp lock: wrong second-factor codes are counted per account, and enough of them lock the factor

Revision ID: 0015_totp_lock
Revises: 0014_encrypt_at_rest
Create Date: 2026-12-06 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_totp_lock'
down_revision = '0014_encrypt_at_rest'
branch_labels = None
depends_on = None


def upgrade():
    # Existing accounts start with no wrong codes counted and an open factor.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_failures', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('totp_locked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_locked_at')
        batch_op.drop_column('totp_failures')
