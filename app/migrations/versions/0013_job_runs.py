"""job runs: a daily job runs once a day, however often it is started

Revision ID: 0013_job_runs
Revises: 0012_key_fingerprints
Create Date: 2026-12-06 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_job_runs'
down_revision = '0012_key_fingerprints'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_runs',
        sa.Column('job', sa.String(length=40), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('ran_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_job_runs')),
    )


def downgrade():
    op.drop_table('job_runs')
