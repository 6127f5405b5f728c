"""role grants need a team lead: invitations to roles that read case content wait for the
approval of a team lead of the organisation (who decided, and when, is kept)

Invitations sent before are left as they were (no approval recorded, none asked): their
links are already in people's mailboxes, and each one is in the audit trail.

Revision ID: 0020_role_grant_approval
Revises: 0019_municipality_codes
Create Date: 2026-12-06 17:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_role_grant_approval'
down_revision = '0019_municipality_codes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('account_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval', sa.Enum('pending', 'approved', 'refused', name='roleapproval', native_enum=False, length=20), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_account_invitations_decided_by_id_users'), 'users', ['decided_by_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('account_invitations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_account_invitations_decided_by_id_users'), type_='foreignkey')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('approval')
