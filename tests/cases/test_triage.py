"""Triage: the queue, first contact, claiming, opening or closing."""

from datetime import date, timedelta

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.cases.services import first_contact_due
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from app.rules import rule


def test_the_queue_shows_safe_contact_and_the_code_word(
    app, submitted_request, make_account, new_browser, log_in
):
    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    queue = worker.get("/team/triage").get_data(as_text=True)
    with app.app_context():
        request = db.session.get(ClientRequest, submitted_request)
        assert request.reference in queue
        due = first_contact_due(request)
        assert due == rule("first_contact_other").due(request.submitted_at)
    page = worker.get(f"/team/triage/{submitted_request}").get_data(as_text=True)
    assert '<dd class="code-word">blåbär</dd>' in page
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(
                    AuditEvent.action == "request.viewed",
                    AuditEvent.subject_id == str(submitted_request),
                )
            )
            == 1
        )


def test_a_reached_contact_marks_first_contact(
    app, submitted_request, make_account, new_browser, log_in
):
    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    worker.post(
        f"/team/triage/{submitted_request}/contact",
        {"channel": "phone", "outcome": "no_answer"},
        form_page=f"/team/triage/{submitted_request}",
    )
    with app.app_context():
        assert db.session.get(ClientRequest, submitted_request).first_contact_at is None
    worker.post(
        f"/team/triage/{submitted_request}/contact",
        {"channel": "phone", "outcome": "reached"},
        form_page=f"/team/triage/{submitted_request}",
    )
    with app.app_context():
        request = db.session.get(ClientRequest, submitted_request)
        assert request.first_contact_at is not None
        assert request.status is RequestStatus.CONTACTED


def test_opening_a_case_assigns_it_and_tells_the_client_it_is_in_progress(
    app, scene, client_browser
):
    with app.app_context():
        request = db.session.get(ClientRequest, scene.request_id)
        assert request.status is RequestStatus.IN_PROGRESS and request.became_case_at is not None
    page = client_browser.get(f"/my/requests/{scene.request_id}").get_data(as_text=True)
    assert 'aria-current="step">In progress' in page
    assert scene.owner_browser.get(f"/team/cases/{scene.case_id}").status_code == 200


def test_closing_a_request_without_a_case_needs_a_known_reason(
    app, submitted_request, make_account, new_browser, log_in
):
    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    bad = worker.post(
        f"/team/triage/{submitted_request}/close",
        {"reason": "whatever"},
        form_page=f"/team/triage/{submitted_request}",
    )
    assert bad.status_code == 400
    ok = worker.post(
        f"/team/triage/{submitted_request}/close",
        {"reason": "not_reached"},
        form_page=f"/team/triage/{submitted_request}",
    )
    assert ok.status_code == 302
    with app.app_context():
        assert db.session.get(ClientRequest, submitted_request).status is RequestStatus.CLOSED


def test_the_team_keeps_a_list_of_groups(app, make_account, new_browser, log_in):
    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    assert worker.post("/team/groups", {"name": "Nordligan"}).status_code == 302
    again = worker.post("/team/groups", {"name": " nordligan "})
    assert again.status_code == 400
    assert "That group is on the list already." in again.get_data(as_text=True)
    assert "Nordligan" in worker.get("/team/groups").get_data(as_text=True)


def test_deadline_reminders_carry_counts_only(app, clock, scene):
    from app.auth.models import User
    from app.core.outbox import OutboxMessage
    from app.intake.models import ClientRequest

    with app.app_context():
        db.session.get(User, scene.owner.id).notify_email = "handlaggare@example.org"
        db.session.commit()
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/threat",
        {
            "level": "high",
            "by_police": "no",
            "assessed_on": date.today().isoformat(),
            "next_review_on": (date.today() + timedelta(days=1)).isoformat(),
        },
        form_page=f"/team/cases/{scene.case_id}",
    )
    result = app.test_cli_runner().invoke(args=["deadlines", "remind"])
    assert "queued 1 reminders" in result.output
    with app.app_context():
        message = db.session.scalars(sa.select(OutboxMessage)).one()
        reference = db.session.scalar(sa.select(ClientRequest.reference))
        assert "1" in message.body and reference not in message.body and "K-" not in message.body


def test_a_case_from_the_police_is_opened_by_hand(app, make_account, new_browser, log_in):
    from app.cases.models import Case, CaseSource

    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    bad = worker.post("/team/cases/new", {"source": "self_service"})
    assert bad.status_code == 400
    response = worker.post("/team/cases/new", {"source": "police", "full_name": "Okänd"})
    assert response.status_code == 302
    with app.app_context():
        case = db.session.scalars(sa.select(Case)).one()
        assert case.source is CaseSource.POLICE
    assert worker.get(response.headers["Location"]).status_code == 200


def test_cases_can_be_filtered_by_overdue_deadline(app, clock, scene):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/threat",
        {
            "level": "medium",
            "by_police": "no",
            "assessed_on": date.today().isoformat(),
            "next_review_on": (date.today() + timedelta(days=3)).isoformat(),
        },
        form_page=f"/team/cases/{scene.case_id}",
    )
    listing = scene.owner_browser.get("/team/cases?deadline=overdue").get_data(as_text=True)
    assert f"/team/cases/{scene.case_id}" not in listing
    week = scene.owner_browser.get("/team/cases?deadline=week").get_data(as_text=True)
    assert f"/team/cases/{scene.case_id}" in week
    clock.shift(timedelta(days=5))  # the session has long expired; ask the service directly
    from app.cases.models import Case
    from app.cases.services import team_cases
    from app.core.clock import utcnow

    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        listing = team_cases(case.organisation_id, deadline_before=utcnow())
    assert listing.total == 1 and listing.cases[0].id == scene.case_id
