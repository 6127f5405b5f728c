"""protection changes: lowering a protected-identity level is reasoned, reviewed and, when
someone else set the level, approved by a second team member

Revision ID: 0017_protection_changes
Revises: 0016_disclosure_snapshots
Create Date: 2026-12-06 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_protection_changes'
down_revision = '0016_disclosure_snapshots'
branch_labels = None
depends_on = None

LEVELS = ('none', 'sekretessmarkering', 'skyddad_folkbokforing', 'fingerade_personuppgifter')


def upgrade():
    op.create_table('protection_changes',
    sa.Column('case_id', sa.Uuid(), nullable=False),
    sa.Column('from_level', sa.Enum(*LEVELS, name='protectionlevel', native_enum=False, length=32), nullable=False),
    sa.Column('to_level', sa.Enum(*LEVELS, name='protectionlevel', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('applied', 'pending', 'rejected', name='protectionchangestatus', native_enum=False, length=20), nullable=False),
    sa.Column('requested_by_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('watch_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_protection_changes_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_protection_changes_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_protection_changes_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_protection_changes_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protection_changes'))
    )
    with op.batch_alter_table('protection_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protection_changes_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_protection_changes_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('protection_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protection_changes_status'))
        batch_op.drop_index(batch_op.f('ix_protection_changes_case_id'))

    op.drop_table('protection_changes')
