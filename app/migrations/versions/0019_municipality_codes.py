"""municipalities by their official codes: names written by hand become the four-digit code of
the municipality they name (case.municipality, threat_assessments.areas_to_avoid, both still
encrypted; partner_profiles.municipality)

Text that names no municipality on the list ("Malmo", a district, a county) is kept as it
was, never guessed: the pages show it marked "not on the list: choose it again", and the
conflict check refuses to call a placement safe while such a value takes part in it. The
upgrade prints how many values were kept that way, never the values.

Revision ID: 0019_municipality_codes
Revises: 0018_security_tallies
Create Date: 2026-12-06 17:40:00

"""
import json

import sqlalchemy as sa
from alembic import op

from app.core.crypto import keyring
from app.rules.municipalities import MUNICIPALITIES, code_for_name

# revision identifiers, used by Alembic.
revision = '0019_municipality_codes'
down_revision = '0018_security_tallies'
branch_labels = None
depends_on = None


def _to_code(value):
    return code_for_name(value) or value


def _to_name(value):
    return MUNICIPALITIES[value].name if value in MUNICIPALITIES else value


def _areas(convert, stored):
    areas = [convert(a) for a in json.loads(stored)]
    return json.dumps(list(dict.fromkeys(areas)), ensure_ascii=False)


def _convert(convert, areas_convert):
    """Rewrite the three columns with `convert`; returns how many values stayed text."""
    bind = op.get_bind()
    ring = keyring()
    kept = 0
    for row_id, stored in bind.execute(
        sa.text("SELECT organisation_id, municipality FROM partner_profiles")
    ).all():
        new = convert(stored)
        kept += new not in MUNICIPALITIES
        if new != stored:
            bind.execute(
                sa.text("UPDATE partner_profiles SET municipality = :m WHERE organisation_id = :i"),
                {"m": new, "i": row_id},
            )
    for row_id, stored in bind.execute(
        sa.text("SELECT id, municipality FROM cases WHERE municipality IS NOT NULL")
    ).all():
        plain = ring.decrypt(stored)
        new = convert(plain)
        kept += new not in MUNICIPALITIES
        if new != plain:
            bind.execute(
                sa.text("UPDATE cases SET municipality = :m WHERE id = :i"),
                {"m": ring.encrypt(new), "i": row_id},
            )
    for row_id, stored in bind.execute(
        sa.text("SELECT id, areas_to_avoid FROM threat_assessments")
    ).all():
        plain = ring.decrypt(stored)
        new = areas_convert(plain)
        kept += sum(a not in MUNICIPALITIES for a in json.loads(new))
        if new != plain:
            bind.execute(
                sa.text("UPDATE threat_assessments SET areas_to_avoid = :a WHERE id = :i"),
                {"a": ring.encrypt(new), "i": row_id},
            )
    return kept


def upgrade():
    kept = _convert(_to_code, lambda stored: _areas(_to_code, stored))
    if kept:
        print(
            f"{kept} municipality values name no municipality on the list: kept as written, "
            "marked on their pages to be chosen again"
        )


def downgrade():
    _convert(_to_name, lambda stored: _areas(_to_name, stored))
