"""The upgrade marks the assignments of closed cases as not open, and only those."""

import uuid

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.cases.models import Case, CaseAssignment, CaseSource, CaseStatus
from app.core.clock import utcnow
from app.extensions import db
from tests.migrations import before


def table(*names: str) -> sa.TableClause:
    """case_assignments by some of its columns, typed as the model types them."""
    types = CaseAssignment.__table__.columns
    return sa.table("case_assignments", *(sa.column(name, types[name].type) for name in names))


# The table as that schema had it, and as it is now.
then = table("case_id", "user_id", "created_at")
now = table("case_id", "case_open")


def test_assignments_of_closed_cases_are_not_open_after_the_upgrade(app, scene):
    with app.app_context():
        downgrade(revision=before("0028_open"))
        # The cases table did not change: a second case of the caseworker's, closed.
        team = db.session.scalar(sa.select(Case.organisation_id).where(Case.id == scene.case_id))
        closed_id = uuid.uuid4()
        db.session.execute(
            sa.insert(Case.__table__).values(
                id=closed_id,
                reference="K-2020-000001",
                organisation_id=team,
                status=CaseStatus.CLOSED,
                source=CaseSource.POLICE,
                opened_at=utcnow(),
            )
        )
        db.session.execute(
            sa.insert(then).values(case_id=closed_id, user_id=scene.owner.id, created_at=utcnow())
        )
        db.session.commit()
        upgrade()
        flags = dict(db.session.execute(sa.select(now.c.case_id, now.c.case_open)).all())
        assert flags == {scene.case_id: True, closed_id: False}
