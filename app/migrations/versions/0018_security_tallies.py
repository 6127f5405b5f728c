"""security tallies and recorded chain checks: failed logins and throttling are counted per
hour instead of chained one by one, and the whole-chain check keeps its signed outcome so
the access-log page checks only what came after it

Existing `login.failed` and `throttled` audit events stay where they are: they are part of
the chain, and removing them would break it. Only new attempts are counted.

Revision ID: 0018_security_tallies
Revises: 0017_protection_changes
Create Date: 2026-12-06 17:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_security_tallies'
down_revision = '0017_protection_changes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('security_tallies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_tallies')),
    sa.UniqueConstraint('kind', 'window_start', 'account_id', 'scope', name=op.f('uq_security_tallies_kind'))
    )
    with op.batch_alter_table('security_tallies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_tallies_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_security_tallies_window_start'), ['window_start'], unique=False)

    op.create_table('audit_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('problems', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verifications'))
    )
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_verifications_verified_at'), ['verified_at'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_verifications_verified_at'))
    op.drop_table('audit_verifications')
    with op.batch_alter_table('security_tallies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_tallies_window_start'))
        batch_op.drop_index(batch_op.f('ix_security_tallies_organisation_id'))
    op.drop_table('security_tallies')
