"""placements say which services they ask for; minutes shared with an agency are linked to
their consultation

Revision ID: 0026_partner
Revises: 0025_factor
Create Date: 2026-12-07 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026_partner'
down_revision = '0025_factor'
branch_labels = None
depends_on = None


def upgrade():
    # Encrypted text (app.core.crypto.EncryptedText); empty (NULL, not an empty string,
    # which is no ciphertext) for requests made before.
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('services', sa.Text(), nullable=True))

    op.create_table(
        'consultation_minutes_shares',
        sa.Column('consultation_id', sa.Uuid(), nullable=False),
        sa.Column('disclosure_id', sa.Uuid(), nullable=False),
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['consultation_id'], ['consultations.id'], name=op.f('fk_consultation_minutes_shares_consultation_id_consultations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['disclosure_id'], ['disclosures.id'], name=op.f('fk_consultation_minutes_shares_disclosure_id_disclosures'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consultation_minutes_shares')),
        sa.UniqueConstraint('disclosure_id', name=op.f('uq_consultation_minutes_shares_disclosure_id')),
    )
    with op.batch_alter_table('consultation_minutes_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consultation_minutes_shares_consultation_id'), ['consultation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('consultation_minutes_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consultation_minutes_shares_consultation_id'))
    op.drop_table('consultation_minutes_shares')
    with op.batch_alter_table('placements', schema=None) as batch_op:
        batch_op.drop_column('services')
