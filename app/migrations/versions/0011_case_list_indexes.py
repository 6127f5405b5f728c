"""case list indexes: open cases and a caseworker's assignments, each read from an index of its own

Revision ID: 0011_case_list_indexes
Revises: 0010_list_and_statistics_indexes
Create Date: 2026-11-30 21:43:27.010995

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_case_list_indexes'
down_revision = '0010_list_and_statistics_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_open', ['organisation_id', 'opened_at', 'id'], unique=False, postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))

    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_assignments_user_id'))
        batch_op.create_index('ix_case_assignments_user_id_case_id', ['user_id', 'case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_case_assignments_user_id_case_id')
        batch_op.create_index(batch_op.f('ix_case_assignments_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_open', postgresql_where=sa.text("status <> 'closed'"), sqlite_where=sa.text("status <> 'closed'"))
