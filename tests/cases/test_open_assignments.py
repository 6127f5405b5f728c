"""A caseworker's open cases are found from their open assignments: the flag each
assignment carries must say what its case's status says, whichever way either was written."""

from __future__ import annotations

import sqlalchemy as sa

from app.cases.models import Case, CaseAssignment, CaseSource, CaseStatus
from app.core.clock import utcnow
from app.extensions import db


def flags(app) -> dict[object, set[bool]]:
    with app.app_context():
        rows = db.session.execute(sa.select(CaseAssignment.case_id, CaseAssignment.case_open))
        found: dict[object, set[bool]] = {}
        for case_id, case_open in rows:
            found.setdefault(case_id, set()).add(case_open)
        return found


def disagreements(app) -> list[tuple[object, bool, CaseStatus]]:
    """Assignments whose flag says something else than their case's status."""
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(CaseAssignment.case_id, CaseAssignment.case_open, Case.status)
                .join(Case)
                .where(CaseAssignment.case_open != (Case.status != CaseStatus.CLOSED))
            )
        ]


def second_case_of(app, scene, status: CaseStatus, reference: str) -> object:
    """Another case of the scene's team, given to its caseworker; its id."""
    with app.app_context():
        case = Case(
            reference=reference,
            organisation_id=db.session.get(Case, scene.case_id).organisation_id,
            status=status,
            source=CaseSource.POLICE,
            opened_at=utcnow(),
        )
        db.session.add(case)
        db.session.flush()
        db.session.add(CaseAssignment(case_id=case.id, user_id=scene.owner.id))
        db.session.commit()
        return case.id


def test_closing_a_case_closes_its_assignments_and_no_others(app, scene, make_account):
    second = make_account(username="andra")
    case_url = f"/team/cases/{scene.case_id}"
    other_id = second_case_of(app, scene, CaseStatus.ASSESSMENT, "K-2026-000777")
    with app.app_context():
        db.session.add(CaseAssignment(case_id=scene.case_id, user_id=second.id))
        db.session.commit()
    assert flags(app) == {scene.case_id: {True}, other_id: {True}}
    closed = scene.owner_browser.post(
        f"{case_url}/close", {"outcome": "established", "confirmed": "yes"}, form_page=case_url
    )
    assert closed.status_code == 302
    assert flags(app) == {scene.case_id: {False}, other_id: {True}}
    assert disagreements(app) == []


def test_an_assignment_written_on_a_closed_case_is_not_open(app, scene):
    closed_id = second_case_of(app, scene, CaseStatus.CLOSED, "K-2019-000001")
    assert flags(app)[closed_id] == {False}
    assert disagreements(app) == []


def test_a_status_set_on_a_loaded_case_moves_its_assignments(app, scene):
    with app.app_context():
        db.session.get(Case, scene.case_id).status = CaseStatus.CLOSED
        db.session.commit()
    assert flags(app) == {scene.case_id: {False}}
    assert disagreements(app) == []
