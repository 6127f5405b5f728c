"""a case's story by time: a partial index of the audit events that tell it (not the case's
reads), so the case page's latest events are the index's last rows however often the case
was opened

Revision ID: 0030_story_index
Revises: 0029_story
Create Date: 2026-12-07 19:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030_story_index'
down_revision = '0029_story'
branch_labels = None
depends_on = None

# app/cases/timeline.py STORY_ACTIONS as of this revision: a later change to that list
# builds the index again in a migration of its own.
STORY = (
    "case.opened",
    "case.status_changed",
    "case.closed",
    "case.assigned",
    "case.unassigned",
    "case.protection_changed",
    "case.break_glass",
    "case.reveal_identity",
    "case.request_linked",
    "case.deadline_met",
    "case.child_investigation_opened",
    "case.clock_started",
    "case.age_recorded",
    "consent.answered",
    "consent.withdrawn",
)


def upgrade():
    condition = sa.column("action").in_(STORY)
    op.create_index(
        'ix_audit_events_story',
        'audit_events',
        ['subject_id', 'occurred_at'],
        unique=False,
        postgresql_where=condition,
        sqlite_where=condition,
    )


def downgrade():
    op.drop_index('ix_audit_events_story', table_name='audit_events')
