"""the team's inbox: a partial index of the requests not made a case, by organisation and
status (with what the start page counts them by), so the waiting requests are counted
without reading a team's history

Revision ID: 0031_waiting
Revises: 0030_story_index
Create Date: 2026-12-07 20:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0031_waiting'
down_revision = '0030_story_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_client_requests_waiting',
        'client_requests',
        ['organisation_id', 'status'],
        unique=False,
        postgresql_where=sa.text('case_id IS NULL'),
        postgresql_include=[
            'urgent', 'urgency', 'submitted_at', 'first_contact_at', 'assigned_to_id'
        ],
        sqlite_where=sa.text('case_id IS NULL'),
    )


def downgrade():
    op.drop_index('ix_client_requests_waiting', table_name='client_requests')
