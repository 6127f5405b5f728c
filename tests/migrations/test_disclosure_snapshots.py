"""The upgrade freezes what recipients could see until now into their disclosure records."""

import json
import uuid
from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from sqlalchemy.orm import lazyload, load_only

from app.cases.models import Case, NeedsAssessment, ProtectionLevel
from app.consent.models import DisclosedField, Disclosure
from app.core.clock import utcnow
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation
from app.placements.models import Placement, PlacementRequest, PlacementStatus, RequestStatus
from tests.migrations import before


def test_existing_hand_overs_and_consultation_disclosures_carry_over(app, scene):
    with app.app_context():
        downgrade(revision=before("0016_disclosure_snapshots"))
        # Only the columns that schema had, and not its assignments: the model has grown since.
        case = db.session.get(
            Case,
            scene.case_id,
            options=[
                lazyload(Case.assignments),
                load_only(
                    Case.organisation_id,
                    Case.full_name,
                    Case.personal_number,
                    Case.phone,
                    Case.protection_level,
                ),
            ],
        )
        case.full_name, case.personal_number, case.phone = "Adam Testsson", "19811218-9876", "070"
        case.protection_level = ProtectionLevel.NONE
        partner = create_organisation("vaxjo", "Växjö kommun", OrgKind.PARTNER)
        police = create_organisation("polisen-x", "Polisen", OrgKind.AGENCY)
        # The placement by the columns that schema had (the model has grown since).
        placement_id = uuid.uuid4()
        then = sa.table(
            "placements",
            *(sa.column(c.name, c.type) for c in Placement.__table__.columns),
        )
        db.session.execute(
            sa.insert(then).values(
                id=placement_id,
                case_id=case.id,
                organisation_id=case.organisation_id,
                status=PlacementStatus.CONFIRMED.value,
                adults=1,
                children_ages="",
                earliest_move_on=date.today(),
                created_at=utcnow(),
            )
        )
        db.session.add_all(
            [
                PlacementRequest(
                    placement_id=placement_id,
                    partner_id=partner.id,
                    status=RequestStatus.CONFIRMED,
                    respond_by=utcnow(),
                    handed_over_at=utcnow(),
                ),
                NeedsAssessment(
                    case_id=case.id,
                    assessed_on=date.today(),
                    notes=json.dumps({"housing": "Skyddat boende."}),
                ),
            ]
        )
        # Rows as the old code wrote them: a summary and no values.
        db.session.execute(
            sa.insert(Disclosure.__table__),
            [
                {
                    "id": uuid.uuid4(),
                    "case_id": case.id,
                    "recipient_id": recipient,
                    "what": what,
                    "purpose": purpose,
                    "created_at": utcnow(),
                }
                for recipient, what, purpose in [
                    (partner.id, "name, personal identity number, phone", "placement"),
                    (police.id, "needs, threat level", "consultation"),
                ]
            ],
        )
        db.session.commit()

        upgrade()
        db.session.expire_all()
        fields = {
            d.purpose: [(f.name, f.value) for f in d.fields]
            for d in db.session.scalars(sa.select(Disclosure))
        }
        assert fields == {
            "placement": [
                ("full_name", "Adam Testsson"),
                ("personal_number", "19811218-9876"),
                ("phone", "070"),
            ],
            "consultation": [("threat_level", None), ("need:housing", "Skyddat boende.")],
        }
        raw = db.session.scalars(sa.select(sa.type_coerce(DisclosedField.value, sa.Text)))
        assert all(value is None or "Adam" not in value for value in raw)
