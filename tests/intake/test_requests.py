"""The client's request: steps, atomic submission, child deadlines, encryption, follow-up."""

import json

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.core.clock import as_utc
from app.extensions import db
from app.intake.models import ClientRequest, RequestAddition, RequestDraft, RequestStatus
from app.rules import LOCAL_TIME, rule
from app.rules.models import Deadline


def only_request(app):
    with app.app_context():
        return db.session.scalars(sa.select(ClientRequest)).one()


def test_a_defector_request_is_received_with_a_reference(app, client_browser, fill_request):
    response = fill_request(client_browser)
    assert response.status_code == 302
    page = client_browser.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    request = only_request(app)
    assert request.reference in html
    assert "Thank you. We have received your request." in html
    assert request.status is RequestStatus.RECEIVED
    assert not request.urgent
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestDraft)) == 0


def test_the_draft_survives_logout(app, client_browser):
    client_browser.post("/my/request/kind", {"kind": "threatened"})
    client_browser.post("/logout", form_page="/my/")
    assert client_browser.get("/my/request/help").status_code == 302  # logged out
    with app.app_context():
        draft = db.session.scalars(sa.select(RequestDraft)).one()
        assert json.loads(draft.data)["kind"] == "threatened"


def test_an_acute_request_says_call_112_and_is_flagged(app, client_browser, fill_request):
    client_browser.post("/my/request/kind", {"kind": "threatened"})
    client_browser.post("/my/request/help", {"help_wanted": ["protection"], "urgency": "acute"})
    page = client_browser.get("/my/request/contact").get_data(as_text=True)
    assert "Call 112 now" in page
    fill_request(client_browser, kind={"kind": "threatened"}, help={"urgency": "acute"})
    assert only_request(app).urgent


def test_a_relatives_request_about_a_15_year_old_starts_the_child_deadlines(
    app, client_browser, fill_request
):
    fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "parent", "age_band": "15_17"},
    )
    request = only_request(app)
    assert request.concerns_child and request.concerns_under_21
    with app.app_context():
        deadlines = {d.rule_key: d for d in db.session.scalars(sa.select(Deadline))}
    assert set(deadlines) == {"child_protection_assessment", "child_investigation_decision"}
    decision = rule("child_investigation_decision")
    assert deadlines["child_investigation_decision"].citation == decision.citation
    submitted = as_utc(request.submitted_at)
    assert as_utc(deadlines["child_investigation_decision"].due_at) == decision.due(submitted)
    protection = as_utc(deadlines["child_protection_assessment"].due_at)
    # "Same day": by the end of the local day on which the request arrived.
    assert protection.astimezone(LOCAL_TIME).date() == submitted.astimezone(LOCAL_TIME).date()
    assert (as_utc(deadlines["child_investigation_decision"].due_at) - protection).days >= 14


def test_a_relatives_request_about_an_adult_starts_no_child_deadline(
    app, client_browser, fill_request
):
    fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "sibling", "age_band": "18_20"},
    )
    request = only_request(app)
    assert not request.concerns_child and request.concerns_under_21
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Deadline)) == 0


def test_the_raw_database_holds_no_plaintext(app, client_browser, fill_request):
    fill_request(client_browser)
    client_browser.post(
        f"/my/requests/{only_request(app).id}/messages",
        {"body": "hemligt meddelande"},
        form_page=f"/my/requests/{only_request(app).id}",
    )
    with app.app_context():
        dump = " ".join(
            repr(db.session.execute(sa.text(f"SELECT * FROM {table}")).all())
            for table in ("client_requests", "messages", "request_drafts")
        )
    secrets = ("innan det är för sent", "blåbär", "070-123", "123 45 67", "hemligt", "relocation")
    for plaintext in secrets:
        assert plaintext not in dump


def test_submission_is_atomic_when_the_database_fails_mid_write(
    app, client_browser, fill_request, monkeypatch
):
    """Given a failure after the request row is written, nothing of it is kept."""
    import app.intake.services as services

    def broken_record(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO audit_events", {}, Exception("disk I/O error"))

    monkeypatch.setattr(services, "record", broken_record)
    response = fill_request(client_browser)
    assert response.status_code == 503
    assert "Nothing was saved" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClientRequest)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestDraft)) == 1
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "request.submitted")
            )
            == 0
        )


def test_missing_answers_send_the_client_back_to_the_step(client_browser):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    response = client_browser.post("/my/request/review", {})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my/request/help")


def test_the_honeypot_refuses_bots(app, client_browser, fill_request):
    fill_request(client_browser)  # a first, real request
    client_browser.post(f"/my/requests/{only_request(app).id}/withdraw", {})
    for step, values in [("kind", {"kind": "defector"})]:
        client_browser.post(f"/my/request/{step}", values)
    response = client_browser.post("/my/request/review", {"website": "http://spam.example"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClientRequest)) == 1


@pytest.mark.parametrize(
    "bad", ["line\nbreak", "null\x00byte", "right\u202eoverride", "isolate\u2066x"]
)
def test_control_and_override_characters_are_refused_in_single_line_fields(client_browser, bad):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    client_browser.post("/my/request/help", {"help_wanted": ["unsure"], "urgency": "soon"})
    response = client_browser.post(
        "/my/request/contact",
        {
            "code_word": bad,
            "voicemail_ok": "no",
            "sms_ok": "no",
            "interpreter": "no",
            "contact_language": "sv",
        },
    )
    assert response.status_code == 400
    assert "Use ordinary letters, digits and punctuation on one line." in response.get_data(
        as_text=True
    )


def test_an_invalid_phone_number_gets_a_clear_message(app, client_browser):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    response = client_browser.post(
        "/my/request/contact",
        {
            "phone": "12",
            "voicemail_ok": "no",
            "sms_ok": "no",
            "interpreter": "no",
            "contact_language": "sv",
        },
    )
    assert response.status_code == 400
    assert "This does not look like a phone number." in response.get_data(as_text=True)
    with app.app_context():
        draft = db.session.scalars(sa.select(RequestDraft)).one()
        assert "phone" not in json.loads(draft.data)  # nothing of the refused step is saved


def test_an_overlong_story_is_refused_and_not_saved(app, client_browser):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    response = client_browser.post("/my/request/story", {"account_text": "x" * 5001})
    assert response.status_code == 400
    with app.app_context():
        draft = db.session.scalars(sa.select(RequestDraft)).one()
        assert "account_text" not in json.loads(draft.data)


def test_add_information_and_withdraw(app, client_browser, fill_request):
    fill_request(client_browser)
    request_id = only_request(app).id
    client_browser.post(
        f"/my/requests/{request_id}/add",
        {"text": "Jag kan bara prata efter 18."},
        form_page=f"/my/requests/{request_id}",
    )
    page = client_browser.get(f"/my/requests/{request_id}").get_data(as_text=True)
    assert "Jag kan bara prata efter 18." in page
    response = client_browser.post(f"/my/requests/{request_id}/withdraw", {})
    assert response.status_code == 302
    assert only_request(app).status is RequestStatus.WITHDRAWN


def test_a_client_cannot_see_another_clients_request(
    app, client_browser, fill_request, new_browser, make_account, log_in
):
    fill_request(client_browser)
    request_id = only_request(app).id
    from app.auth.models import Role

    other = new_browser()
    log_in(other, make_account(Role.CLIENT))
    assert other.get(f"/my/requests/{request_id}").status_code == 404


def test_staff_cannot_use_client_pages(browser, make_account, log_in):
    log_in(browser, make_account())
    assert browser.get("/my/").status_code == 403


@pytest.mark.parametrize("ended", ["withdrawn", "closed"])
def test_nothing_can_be_added_to_a_withdrawn_or_closed_request(
    app, client_browser, fill_request, ended
):
    """Given a request the client withdrew or the team closed, when the client tries to add
    information to it, it is refused (409) and no addition is stored."""
    fill_request(client_browser)
    request_id = only_request(app).id
    if ended == "withdrawn":
        client_browser.post(f"/my/requests/{request_id}/withdraw", {})
    else:
        with app.app_context():
            db.session.get(ClientRequest, request_id).status = RequestStatus.CLOSED
            db.session.commit()
    assert only_request(app).status.value == ended
    response = client_browser.post(
        f"/my/requests/{request_id}/add",
        {"text": "Jag kan bara prata efter 18."},
        form_page=f"/my/requests/{request_id}",
    )
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RequestAddition.id))) == 0


@pytest.mark.parametrize(
    "person", [None, {"age_band": "15_17"}, {"relationship": "parent"}], ids=str
)
def test_a_relatives_request_without_the_persons_details_is_refused(
    app, client_browser, fill_request, person
):
    """Given a relative who skipped the question about the person (or answered only half of
    it), when they send the request, nothing is stored and they are sent back to that step."""
    if person is not None:
        # Half an answer, as a draft saved by an older page or edited by hand would hold.
        with app.app_context():
            from app.auth.models import Role, User
            from app.intake import services as intake_services

            # The only client: the one the browser registered.
            user = db.session.scalars(sa.select(User).where(User.role == Role.CLIENT)).one()
            intake_services.save_draft(user, {"kind": "relative", **person})
            db.session.commit()
    response = fill_request(client_browser, kind={"kind": "relative"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my/request/person")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ClientRequest.id))) == 0


def test_a_second_click_that_saw_the_draft_before_the_first_committed_lands_on_its_request(
    app, client_browser, fill_request, monkeypatch
):
    """A double click on PostgreSQL: the second press looked at the draft just before the
    first press committed, then finds the request the first one made open. It is the same
    request sent twice, not a second one refused: it lands where the first did (no 409)."""
    from app.intake import services as intake_services

    fill_request(client_browser)
    with app.app_context():
        (sent,) = db.session.scalars(sa.select(ClientRequest.id)).all()
    # The draft as the second press saw it a moment before the first one committed
    monkeypatch.setattr(intake_services, "load_draft", lambda client: {"kind": "defector"})
    second = client_browser.post("/my/request/review", {}, form_page="/my/")
    assert second.status_code == 302
    assert second.headers["Location"] == f"/my/requests/{sent}"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ClientRequest)) == 1
