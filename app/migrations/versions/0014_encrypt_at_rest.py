"""encrypt at rest: the outbox's subject, body and calendar file; placement household and
offer details; an intervention's provider. Existing values are encrypted on the way up and
decrypted on the way down.

Revision ID: 0014_encrypt_at_rest
Revises: 0013_job_runs
Create Date: 2026-12-06 17:40:00

"""
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0014_encrypt_at_rest'
down_revision = '0013_job_runs'
branch_labels = None
depends_on = None

# (table, column, the plaintext type it had, nullable)
COLUMNS = [
    ('outbox', 'subject', sa.String(length=200), False),
    ('outbox', 'body', sa.Text(), False),
    ('outbox', 'calendar', sa.Text(), True),
    ('placements', 'children_ages', sa.String(length=100), False),
    ('placements', 'expected_duration', sa.String(length=100), True),
    ('placement_requests', 'offer_housing_type', sa.String(length=100), True),
    ('interventions', 'provider', sa.String(length=200), True),
]


def _keyring():
    # The application's configured keys (the same the models use); the migration runs in
    # its application context, like every `flask db upgrade`.
    return current_app.extensions['utvag.crypto']


def _rewrite(table_name, column_name, transform):
    """Rewrite every non-null value of one column through `transform`, row by row by key."""
    connection = op.get_bind()
    table = sa.table(table_name, sa.column('id'), sa.column(column_name, sa.Text()))
    column = table.c[column_name]
    rows = connection.execute(sa.select(table.c.id, column).where(column.is_not(None))).all()
    for row_id, value in rows:
        connection.execute(
            sa.update(table).where(table.c.id == row_id).values({column_name: transform(value)})
        )


def upgrade():
    ring = _keyring()
    for table_name, column_name, plain_type, nullable in COLUMNS:
        # Text first: a token is longer than the plaintext it holds.
        if not isinstance(plain_type, sa.Text):
            with op.batch_alter_table(table_name, schema=None) as batch_op:
                batch_op.alter_column(
                    column_name,
                    existing_type=plain_type,
                    type_=sa.Text(),
                    existing_nullable=nullable,
                )
        _rewrite(table_name, column_name, ring.encrypt)


def downgrade():
    ring = _keyring()
    for table_name, column_name, plain_type, nullable in reversed(COLUMNS):
        _rewrite(table_name, column_name, ring.decrypt)
        if not isinstance(plain_type, sa.Text):
            with op.batch_alter_table(table_name, schema=None) as batch_op:
                batch_op.alter_column(
                    column_name,
                    existing_type=sa.Text(),
                    type_=plain_type,
                    existing_nullable=nullable,
                )
