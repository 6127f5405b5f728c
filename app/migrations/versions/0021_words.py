"""accessibility feedback: problems reported through the accessibility statement's form,
their texts encrypted

Revision ID: 0021_words
Revises: 0020_role_grant_approval
Create Date: 2026-12-06 21:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_words'
down_revision = '0020_role_grant_approval'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'accessibility_feedback',
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('reply_to', sa.Text(), nullable=True),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_accessibility_feedback')),
    )


def downgrade():
    op.drop_table('accessibility_feedback')
