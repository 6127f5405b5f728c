"""disclosure snapshots: what a recipient was given, field by field, with the values frozen

Revision ID: 0016_disclosure_snapshots
Revises: 0015_totp_lock
Create Date: 2026-12-06 17:50:00

Existing disclosures carry over as well as the old records allow. Until now a recipient
read the live case, so what it could see at the moment of the upgrade is what it had been
given; that is what is frozen:

- every hand-over to a partner: its latest placement disclosure gets the name (and, for an
  unprotected case, the personal identity number and phone) as the case holds them now.
  The values are copied as stored ciphertext, never decrypted.
- every agency's latest consultation disclosure of a case gets the threat level and the
  needs as they stand (the needs are decrypted and each note encrypted again, one row per
  need). The name is not carried over: it went out on a different consent (information
  exchange) that the old record does not name, so the team shares it again from the
  consultation page if it should still reach the agency.

Older records keep their summary ("what") and get no values: nothing is shown from them.
"""

import json
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0016_disclosure_snapshots"
down_revision = "0015_totp_lock"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "disclosed_fields",
        sa.Column("disclosure_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_disclosed_fields_disclosure_id_disclosures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosed_fields")),
        sa.UniqueConstraint(
            "disclosure_id", "name", name=op.f("uq_disclosed_fields_disclosure_id")
        ),
    )
    with op.batch_alter_table("disclosed_fields", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosed_fields_disclosure_id"), ["disclosure_id"], unique=False
        )
    _carry_over_hand_overs()
    _carry_over_consultations()


def _latest(bind, case_id, recipient_id, purpose):
    return bind.execute(
        sa.text(
            "SELECT id FROM disclosures WHERE case_id = :case AND recipient_id = :recipient "
            "AND purpose = :purpose ORDER BY created_at DESC LIMIT 1"
        ),
        {"case": case_id, "recipient": recipient_id, "purpose": purpose},
    ).scalar()


FIELDS = sa.table(
    "disclosed_fields",
    sa.column("id", sa.Uuid()),
    sa.column("disclosure_id", sa.Uuid()),
    sa.column("name", sa.String()),
    sa.column("position", sa.Integer()),
    sa.column("value", sa.Text()),
)


def _insert(bind, disclosure_id, fields):
    # Raw ids come back as UUIDs (PostgreSQL) or hex strings (SQLite); the typed table
    # writes them the way each database stores them.
    owner = uuid.UUID(str(disclosure_id))
    for position, (name, value) in enumerate(fields):
        bind.execute(
            FIELDS.insert().values(
                id=uuid.uuid4(), disclosure_id=owner, name=name, position=position, value=value
            )
        )


def _carry_over_hand_overs():
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT DISTINCT p.case_id, r.partner_id, c.protection_level, c.full_name, "
            "c.personal_number, c.phone FROM placement_requests r "
            "JOIN placements p ON p.id = r.placement_id JOIN cases c ON c.id = p.case_id "
            "WHERE r.handed_over_at IS NOT NULL"
        )
    ).all()
    for case_id, partner_id, level, name, number, phone in rows:
        disclosure_id = _latest(bind, case_id, partner_id, "placement")
        if disclosure_id is None:
            continue
        fields = [("full_name", name)]
        if level == "none":
            fields += [("personal_number", number), ("phone", phone)]
        _insert(bind, disclosure_id, fields)


def _carry_over_consultations():
    bind = op.get_bind()
    pairs = bind.execute(
        sa.text(
            "SELECT DISTINCT case_id, recipient_id FROM disclosures WHERE purpose = 'consultation'"
        )
    ).all()
    if not pairs:
        return
    from app.core.crypto import keyring  # the app's keys: the migration runs inside the app

    ring = keyring()
    for case_id, recipient_id in pairs:
        disclosure_id = _latest(bind, case_id, recipient_id, "consultation")
        level = bind.execute(
            sa.text(
                "SELECT level FROM threat_assessments WHERE case_id = :case "
                "ORDER BY assessed_on DESC, created_at DESC LIMIT 1"
            ),
            {"case": case_id},
        ).scalar()
        notes = bind.execute(
            sa.text(
                "SELECT notes FROM needs_assessments WHERE case_id = :case "
                "ORDER BY assessed_on DESC, created_at DESC LIMIT 1"
            ),
            {"case": case_id},
        ).scalar()
        fields = [("threat_level", ring.encrypt(level) if level else None)]
        if notes:
            for need, text in json.loads(ring.decrypt(notes)).items():
                fields.append((f"need:{need}", ring.encrypt(text)))
        _insert(bind, disclosure_id, fields)


def downgrade():
    # The snapshots' values go; the disclosure records themselves stay as they were.
    with op.batch_alter_table("disclosed_fields", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosed_fields_disclosure_id"))
    op.drop_table("disclosed_fields")
