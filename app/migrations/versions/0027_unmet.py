"""unmet deadlines: an index of their own, by time, for the start page's counts

Revision ID: 0027_unmet
Revises: 0026_partner
Create Date: 2026-12-07 05:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_unmet'
down_revision = '0026_partner'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_deadlines_unmet', ['due_at'], unique=False, postgresql_where=sa.text('met_at IS NULL'), sqlite_where=sa.text('met_at IS NULL'))


def downgrade():
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_unmet', postgresql_where=sa.text('met_at IS NULL'), sqlite_where=sa.text('met_at IS NULL'))
