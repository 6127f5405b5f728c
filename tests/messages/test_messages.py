"""Secure messages between client and team, and the content-free e-mail notice."""

import smtplib
from typing import ClassVar

import pytest
import sqlalchemy as sa

from app.auth.models import Role
from app.core.outbox import OutboxMessage, deliver_due
from app.extensions import db
from app.intake.models import ClientRequest


@pytest.fixture
def submitted(app, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        return db.session.scalars(sa.select(ClientRequest)).one()


def test_client_and_team_exchange_messages(
    app, client_browser, submitted, new_browser, make_account, log_in
):
    client_browser.post(
        f"/my/requests/{submitted.id}/messages",
        {"body": "Kan ni ringa i kväll?"},
        form_page=f"/my/requests/{submitted.id}",
    )
    staff = new_browser()
    log_in(staff, make_account(Role.CASEWORKER))
    inbox = staff.get("/inbox").get_data(as_text=True)
    assert submitted.reference in inbox
    thread = staff.get(f"/inbox/{submitted.id}").get_data(as_text=True)
    assert "Kan ni ringa i kväll?" in thread
    staff.post(f"/inbox/{submitted.id}", {"body": "Ja, efter 18. Vi säger kodordet."})
    page = client_browser.get(f"/my/requests/{submitted.id}").get_data(as_text=True)
    assert "Ja, efter 18. Vi säger kodordet." in page


def test_other_organisations_and_roles_cannot_read_the_thread(
    app, submitted, new_browser, make_account, log_in
):
    from app.orgs.models import OrgKind
    from app.orgs.services import create_organisation

    with app.app_context():
        create_organisation("annat-team", "Annat team", OrgKind.EXIT_TEAM)
        db.session.commit()
    outsider = new_browser()
    log_in(outsider, make_account(Role.CASEWORKER, org_slug="annat-team"))
    assert outsider.get(f"/inbox/{submitted.id}").status_code == 404
    assert submitted.reference not in outsider.get("/inbox").get_data(as_text=True)
    partner = new_browser()
    log_in(partner, make_account(Role.PARTNER))
    assert partner.get("/inbox").status_code == 403


def test_a_notice_is_queued_only_for_clients_who_opted_in(
    app, client_browser, submitted, new_browser, make_account, log_in
):
    staff = new_browser()
    log_in(staff, make_account(Role.CASEWORKER))
    staff.post(f"/inbox/{submitted.id}", {"body": "Första svaret"})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    client_browser.post("/my/notifications", {"email": "trygg@example.org"})
    staff.post(f"/inbox/{submitted.id}", {"body": "Andra svaret med hemligt innehåll"})
    with app.app_context():
        queued = db.session.scalars(sa.select(OutboxMessage)).one()
        assert queued.recipient == "trygg@example.org"
        assert "hemligt" not in queued.body and submitted.reference not in queued.body
        raw = repr(db.session.execute(sa.text("SELECT * FROM outbox")).all())
        assert "trygg@example.org" not in raw


class FakeSMTP:
    """Stands in for the mail server; `down` makes it refuse connections."""

    down = False
    delivered: ClassVar[list[str]] = []

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.down:
            raise ConnectionRefusedError("mail server down")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        FakeSMTP.delivered.append(message["Message-ID"])


def test_mail_survives_an_outage_and_is_sent_exactly_once(settings, monkeypatch, clock):
    from dataclasses import replace

    from app import create_app
    from app.core.outbox import enqueue_email

    app = create_app(replace(settings, smtp_host="127.0.0.1"))
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    FakeSMTP.delivered = []
    with app.app_context():
        enqueue_email("a@example.org", "Nytt meddelande", "Du har ett nytt meddelande.")
        db.session.commit()
        FakeSMTP.down = True
        assert deliver_due() == (0, 1)
        assert deliver_due() == (0, 0)  # backing off: not due yet
        FakeSMTP.down = False
        clock.shift(120)
        assert deliver_due() == (1, 0)
        assert deliver_due() == (0, 0)
        message = db.session.scalars(sa.select(OutboxMessage)).one()
        assert message.sent_at is not None and message.attempts == 2
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
        db.engine.dispose()
    assert len(FakeSMTP.delivered) == 1


def test_messages_of_a_protected_case_are_hidden_from_those_who_may_not_see_its_identity(
    app, client_browser, scene, new_browser, make_account, log_in
):
    """Given a protected case whose client wrote where they live, when the team lead (who may
    open the case but not see the identity) opens the conversation or the case's timeline,
    the words are not there — a note says they are hidden — and the lead cannot answer
    blind nor mark them read; the assigned caseworker reads them."""
    from tests.cases.test_case_work import protect

    request_id = scene.request_id
    client_browser.post(
        f"/my/requests/{request_id}/messages",
        {"body": "Jag bor nu på Hemliga vägen 3."},
        form_page=f"/my/requests/{request_id}",
    )
    protect(scene)
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    thread = lead.get(f"/inbox/{request_id}").get_data(as_text=True)
    assert "Hemliga vägen" not in thread and "hidden: protected identity" in thread
    assert 'name="body"' not in thread
    timeline = lead.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    assert "Hemliga vägen" not in timeline and "hidden: protected identity" in timeline
    refused = lead.post(f"/inbox/{request_id}", {"body": "Hej!"})
    assert refused.status_code == 403
    with app.app_context():
        from app.messages.models import Message

        unread = db.session.scalars(sa.select(Message.read_at)).all()
        assert unread == [None]
    owner = scene.owner_browser.get(f"/inbox/{request_id}").get_data(as_text=True)
    assert "Jag bor nu på Hemliga vägen 3." in owner


def test_once_a_case_only_those_who_may_see_it_keep_the_thread(
    app, submitted, new_browser, make_account, log_in
):
    """Given a request that became a case, its caseworker still reads and answers the
    thread; a colleague of the same team who is not on the case finds nothing there."""
    owner, colleague = new_browser(), new_browser()
    log_in(owner, make_account(Role.CASEWORKER))
    log_in(colleague, make_account(Role.CASEWORKER))
    assert colleague.get(f"/inbox/{submitted.id}").status_code == 200  # not a case yet
    owner.post(
        f"/team/triage/{submitted.id}/open-case", {}, form_page=f"/team/triage/{submitted.id}"
    )
    assert owner.get(f"/inbox/{submitted.id}").status_code == 200
    assert colleague.get(f"/inbox/{submitted.id}").status_code == 404
