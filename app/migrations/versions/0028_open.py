"""open assignments: a caseworker's open cases from an index of their own, however many
cases they were given over the years (the case's "not closed", copied to its assignments)

Revision ID: 0028_open
Revises: 0027_unmet
Create Date: 2026-12-07 12:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028_open'
down_revision = '0027_unmet'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_open', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(
        "UPDATE case_assignments SET case_open = false"
        " WHERE case_id IN (SELECT id FROM cases WHERE status = 'closed')"
    )
    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_case_assignments_open', ['user_id', 'case_id'], unique=False, postgresql_where=sa.text('case_open'), sqlite_where=sa.text('case_open'))


def downgrade():
    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_case_assignments_open', postgresql_where=sa.text('case_open'), sqlite_where=sa.text('case_open'))
        batch_op.drop_column('case_open')
