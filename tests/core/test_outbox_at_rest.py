"""The outbox at rest: a copy of the database shows no message, address, link or place.

Given mail queued by the portal's own flows (an invitation with a join link, a consultation
with its calendar file), when someone reads the outbox table directly, then they find
only ciphertext; subjects name no case; and mail the server never took is deleted after
the period in the rules data, with an audit row that counts it and says nothing more.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa
from icalendar import Calendar

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cases.models import Case
from app.core.clock import utcnow
from app.core.outbox import OutboxMessage, enqueue_email
from app.extensions import db
from app.retention.services import delete, due_for_deletion
from app.rules import rule
from tests.consultations.test_consultations import convene, give_consent

PLACE = "Polishuset, rum 3"


def raw_outbox() -> str:
    return repr(db.session.execute(sa.text("SELECT * FROM outbox")).all())


def test_an_invitation_link_and_address_are_not_readable_in_the_table(
    app, browser, make_account, log_in, organisation
):
    log_in(browser, make_account(Role.ADMIN))
    response = browser.post(
        "/admin/users/invite",
        {"organisation": str(organisation.id), "role": "admin", "email": "ny@malmo.test"},
    )
    assert response.status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
        token = re.search(r"/join/(\S+)", mail.body).group(1)
        raw = raw_outbox()
    for secret in (token, "/join/", "ny@malmo.test", "Utväg", mail.subject):
        assert secret not in raw


def test_a_consultation_invitation_keeps_its_place_and_subject_encrypted(
    app, scene, other_orgs, make_account
):
    with app.app_context():
        from app.orgs.models import Organisation

        polisen = db.session.scalar(
            sa.select(Organisation.id).where(Organisation.slug == "polisen")
        )
        reference = db.session.get(Case, scene.case_id).reference
    representative = make_account(Role.AGENCY_REP, org_slug="polisen")
    with app.app_context():
        db.session.get(User, representative.id).notify_email = "polis@example.org"
        db.session.commit()
    give_consent(app, scene, polisen)
    assert convene(scene, [polisen], [representative.id]).status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
        raw = raw_outbox()
    event = Calendar.from_ical(mail.calendar).walk("VEVENT")[0]
    # The invitee still gets the place; the subject and summary name no case.
    assert str(event["LOCATION"]) == PLACE
    for shown in (mail.subject, str(event["SUMMARY"]), mail.body):
        assert reference not in shown
    for secret in (PLACE, "Polishuset", "BEGIN:VCALENDAR", "polis@example.org", "Consultation"):
        assert secret not in raw


def test_mail_that_cannot_be_delivered_is_deleted_after_the_rules_period(app, clock):
    period = rule("undelivered_mail")
    assert period.unit == "days"
    with app.app_context():
        stale = enqueue_email("a@example.org", "Invitation", "https://x.example/join/abc")
        stale.attempts = 12
        stale.last_error = "ConnectionRefusedError"
        db.session.commit()
    clock.shift(timedelta(days=period.value) - timedelta(hours=1))
    with app.app_context():
        fresh = enqueue_email("b@example.org", "Invitation", "https://x.example/join/def").id
        db.session.commit()
        assert due_for_deletion().undelivered_mail == []
    clock.shift(timedelta(hours=2))
    result = app.test_cli_runner().invoke(args=["retention", "run", "--dry-run"])
    assert "undelivered_mail: 1" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 2
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert "deleted" in result.output
    with app.app_context():
        left = db.session.scalars(sa.select(OutboxMessage.id)).all()
        assert left == [fresh]
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "retention.run")
        ).one()
        details = json.loads(event.details)
        assert details["undelivered_mail"] == 1
        assert "a@example.org" not in event.details and "join" not in event.details


def test_mail_being_delivered_right_now_is_not_deleted_under_the_sender(app, clock):
    with app.app_context():
        message = enqueue_email("a@example.org", "Invitation", "Hej").id
        db.session.commit()
    clock.shift(timedelta(days=rule("undelivered_mail").value, hours=1))
    with app.app_context():
        db.session.get(OutboxMessage, message).leased_until = utcnow() + timedelta(minutes=1)
        db.session.commit()
        assert due_for_deletion().undelivered_mail == []
    clock.shift(timedelta(minutes=2))
    with app.app_context():
        due = due_for_deletion()
        assert [m.id for m in due.undelivered_mail] == [message]
        delete(due)
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_delivered_mail_is_not_counted_as_undelivered(app, clock):
    with app.app_context():
        enqueue_email("a@example.org", "x", "y").sent_at = utcnow()
        db.session.commit()
    clock.shift(timedelta(days=rule("undelivered_mail").value + 1))
    with app.app_context():
        due = due_for_deletion()
        assert due.undelivered_mail == [] and due.sent_mail == []
