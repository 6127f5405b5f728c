"""statutory clocks by age and source: a case records the person's age band and the
reporting agency; a deadline may run on a case with no self-service request behind it;
reminders are claimed per thing and day, so the reminder job may run often

Cases opened before keep no age band (none was asked): their clocks, if any, ran on the
relative's request as before.

Revision ID: 0021_clocks
Revises: 0020_role_grant_approval
Create Date: 2026-12-06 21:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_clocks'
down_revision = '0023_alerts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reporting_organisation_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "age_band",
                sa.Enum(
                    "under_15",
                    "15_17",
                    "18_20",
                    "21_plus",
                    "unknown",
                    name="ageband",
                    native_enum=False,
                    length=20,
                ),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_reporting_organisation_id_organisations"),
            "organisations",
            ["reporting_organisation_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("case_id", sa.Uuid(), nullable=True))
        batch_op.alter_column("request_id", existing_type=sa.Uuid(), nullable=True)
        batch_op.create_index(batch_op.f("ix_deadlines_case_id"), ["case_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_deadlines_case_id_cases"),
            "cases",
            ["case_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_deadlines_runs_on_request_or_case"),
            "request_id IS NOT NULL OR case_id IS NOT NULL",
        )

    op.create_table(
        "reminders_sent",
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "subject", "day", name=op.f("pk_reminders_sent")),
    )


def downgrade():
    op.drop_table("reminders_sent")

    # Clocks on cases without a request cannot be kept by the older schema.
    op.execute("DELETE FROM deadlines WHERE request_id IS NULL")
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_deadlines_runs_on_request_or_case"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_deadlines_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_deadlines_case_id"))
        batch_op.alter_column("request_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_column("case_id")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_cases_reporting_organisation_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_column("age_band")
        batch_op.drop_column("reporting_organisation_id")
