"""Retention rules under a controlled clock, read from the rules data."""

from datetime import timedelta

import sqlalchemy as sa

from app.auth.models import Role, User
from app.auth.services import create_user
from app.cases.models import Case, CaseStatus
from app.cases.services import IdentityChange, update_identity
from app.core.clock import utcnow
from app.core.outbox import OutboxMessage, enqueue_email
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from app.orgs.models import Organisation
from app.retention.services import delete, due_for_deletion
from app.rules import rule
from tests.conftest import PASSWORD


def personal_number(birth: str) -> str:
    """A valid personnummer (check digit by Luhn) for a YYYYMMDD birth date."""
    body = birth[2:] + "123"
    total = 0
    for index, char in enumerate(body):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return f"{birth}-123{(10 - total % 10) % 10}"


def closed_case(app, reference, number=None, closed=True):
    with app.app_context():
        team = db.session.scalars(sa.select(Organisation)).first()
        case = Case(
            reference=reference,
            organisation_id=team.id,
            status=CaseStatus.CLOSED if closed else CaseStatus.NEW,
            source="phone",
            opened_at=utcnow(),
            closed_at=utcnow() if closed else None,
        )
        db.session.add(case)
        db.session.flush()
        if number:
            by = db.session.scalar(sa.select(User).where(User.username == "arkivarie"))
            by = by or create_user("arkivarie", PASSWORD, Role.CASEWORKER, team)
            update_identity(case, IdentityChange("Namn", number, None, None, None, 1, []), by)
        db.session.commit()
        return case.id


def due_references(app):
    with app.app_context():
        return sorted(c.reference for c in due_for_deletion().cases)


def test_closed_cases_go_five_years_after_the_last_entry(app, clock, organisation):
    closed_case(app, "K-1", personal_number("19900312"))
    years = rule("records_deletion").value
    clock.shift(timedelta(days=365 * years - 10))
    assert due_references(app) == []
    clock.shift(timedelta(days=20))
    assert due_references(app) == ["K-1"]


def test_the_research_sample_is_kept(app, clock, organisation):
    closed_case(app, "K-5", personal_number("19900305"))
    closed_case(app, "K-15", personal_number("19900315"))
    closed_case(app, "K-16", personal_number("19900316"))
    clock.shift(timedelta(days=365 * rule("records_deletion").value + 30))
    assert due_references(app) == ["K-16"]
    with app.app_context():
        assert due_for_deletion().kept_for_research == 2


def test_not_while_other_data_on_the_person_is_kept(app, clock, organisation):
    number = personal_number("19900312")
    closed_case(app, "K-OLD", number)
    clock.shift(timedelta(days=365 * rule("records_deletion").value + 30))
    closed_case(app, "K-NEW", number, closed=False)  # the same person has a case again
    assert due_references(app) == []
    with app.app_context():
        assert due_for_deletion().kept_for_other_data == 1


def test_deleting_removes_the_case_and_its_request_for_real(app, clock, scene):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/close",
        {"outcome": "established", "confirmed": "yes"},
        form_page=f"/team/cases/{scene.case_id}",
    )
    clock.shift(timedelta(days=365 * rule("records_deletion").value + 30))
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert "cases: 1" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 1
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert "deleted" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(ClientRequest.id))) == 0
        raw = repr(db.session.execute(sa.text("SELECT * FROM journal_entries")).all())
        assert raw == "[]"


def test_requests_without_a_case_and_sent_mail_expire(app, clock, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        request.status = RequestStatus.WITHDRAWN
        enqueue_email("a@example.org", "x", "y").sent_at = utcnow()
        db.session.commit()
    clock.shift(timedelta(days=40))
    with app.app_context():
        due = due_for_deletion()
        assert (len(due.requests), len(due.sent_mail)) == (0, 1)
    clock.shift(timedelta(days=31 * rule("request_without_case").value))
    with app.app_context():
        due = due_for_deletion()
        assert len(due.requests) == 1
        delete(due)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(ClientRequest.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
