"""a case's story: audit events by subject and action, so the timeline finds a case's
status changes, assignments and consents without stepping over its reads

Revision ID: 0029_story
Revises: 0028_open
Create Date: 2026-12-07 16:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0029_story'
down_revision = '0028_open'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_subject_action', ['subject_id', 'action'], unique=False)
        batch_op.drop_index('ix_audit_events_subject_id')


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_subject_id', ['subject_id'], unique=False)
        batch_op.drop_index('ix_audit_events_subject_action')
