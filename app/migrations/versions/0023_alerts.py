"""alerts: what happened on a person's cases and requests, read in the portal, and each
person's choice of a content-free notice mail when one arrives (no row: no mail)

Revision ID: 0021_alerts
Revises: 0020_role_grant_approval
Create Date: 2026-12-06 20:55:22.144916

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_alerts'
down_revision = '0022_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_preferences',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('mail', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_alert_preferences'))
    )
    op.create_table('alerts',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('acute_request', 'request_late', 'client_message', 'agency_answer', 'partner_answer', 'action_overdue', 'case_accessed', 'consultation_invitation', 'placement_request', name='alertkind', native_enum=False, length=32), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_alerts_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alerts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_subject_id'), ['subject_id'], unique=False)
        batch_op.create_index('ix_alerts_user_id_read_at_kind', ['user_id', 'read_at', 'kind'], unique=False)



def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_user_id_read_at_kind')
        batch_op.drop_index(batch_op.f('ix_alerts_subject_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_case_id'))

    op.drop_table('alerts')
    op.drop_table('alert_preferences')
