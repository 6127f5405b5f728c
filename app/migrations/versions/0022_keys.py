"""audit key changes: the audit chain can move to a new AUDIT_KEY, each change sealed by a
record signed with the old key and the new one

A chain written before has no change: all of it is under the first key.

Revision ID: 0021_keys
Revises: 0020_role_grant_approval
Create Date: 2026-12-06 21:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_keys'
down_revision = '0021_words'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_key_changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('old_key', sa.String(length=64), nullable=False),
    sa.Column('new_key', sa.String(length=64), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('old_signature', sa.String(length=64), nullable=False),
    sa.Column('new_signature', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_key_changes'))
    )


def downgrade():
    op.drop_table('audit_key_changes')
