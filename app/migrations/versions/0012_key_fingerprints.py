"""key fingerprints: the keys the data was written with, so a wrong key refuses to start

Revision ID: 0012_key_fingerprints
Revises: 0011_case_list_indexes
Create Date: 2026-12-06 17:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_key_fingerprints'
down_revision = '0011_case_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'key_fingerprints',
        sa.Column('variable', sa.String(length=40), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('variable', 'fingerprint', name=op.f('pk_key_fingerprints')),
    )


def downgrade():
    op.drop_table('key_fingerprints')
