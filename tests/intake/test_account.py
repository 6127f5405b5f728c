"""A client's account: registration, the client's own data, deletion, retention."""

import json
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa

from app.auth.models import Role, User
from app.extensions import db
from app.intake.models import ClientRequest
from app.messages.models import Message
from app.rules import rule
from tests.conftest import PASSWORD


def test_registration_asks_for_no_identity_and_suggests_a_pseudonym(browser, organisation):
    html = browser.get("/my/register").get_data(as_text=True)
    for field in ("email", "phone", "name"):
        assert f'name="{field}"' not in html
    suggested = html.split('id="username"')[1].split('value="')[1].split('"')[0]
    assert suggested.count("-") == 2 and suggested.split("-")[-1].isdigit()


def test_registration_leads_to_enrolment_and_a_client_role(app, client_browser):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "stilla-flod-1234"))
        assert user.role is Role.CLIENT and user.organisation_id is None
        assert user.totp_secret == client_browser.secret
    assert client_browser.get("/my/").status_code == 200


def test_a_weak_password_is_refused_at_registration(app, browser, organisation):
    response = browser.post(
        "/my/register",
        {"username": "ny-person-1", "password": "password123", "confirm_password": "password123"},
    )
    assert response.status_code == 400
    assert "This is a very common password." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_a_taken_username_gets_a_clear_message(browser, client_browser, new_browser):
    other = new_browser()
    response = other.post(
        "/my/register",
        {"username": "stilla-flod-1234", "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert response.status_code == 400
    assert "That username is taken." in response.get_data(as_text=True)


def test_the_registration_honeypot_refuses_bots(app, browser, organisation):
    response = browser.post(
        "/my/register",
        {
            "username": "bot-1",
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "website": "http://spam.example",
        },
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def _moment(value):
    """A timestamp in the export: ISO 8601 with its offset; the value itself is the clock's."""
    assert datetime.fromisoformat(value).utcoffset() is not None, value
    return "<moment>"


def test_download_my_data_holds_everything(app, client_browser, fill_request):
    """Given a client who answered every question, added information, wrote to the team and
    asked for notices by e-mail, when they download their data, every answer is in it, as
    given, and nothing is left out (the whole export is compared, field by field)."""
    fill_request(
        client_browser,
        kind={"kind": "relative"},
        person={"relationship": "parent", "age_band": "15_17"},
        identity={"name": "Sara", "birth_year": "1998"},
    )
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        user = db.session.scalars(sa.select(User).where(User.role == Role.CLIENT)).one()
        username, locale = user.username, user.locale
    status_page = f"/my/requests/{request.id}"
    client_browser.post(
        f"{status_page}/add", {"text": "Jag kan bara prata efter 18."}, form_page=status_page
    )
    client_browser.post(
        f"{status_page}/messages", {"body": "Hej, när ringer ni?"}, form_page=status_page
    )
    client_browser.post("/my/notifications", {"email": "sara@example.org"})
    response = client_browser.get("/my/data.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    data["account"]["created_at"] = _moment(data["account"]["created_at"])
    exported = data["requests"][0]
    exported["submitted_at"] = _moment(exported["submitted_at"])
    for item in exported["added_information"] + exported["messages"]:
        item["at"] = _moment(item["at"])
    assert data == {
        "account": {
            "username": username,
            "created_at": "<moment>",
            "language": locale,
            "notification_email": "sara@example.org",
            "second_factor_enrolled": True,
        },
        "draft": None,
        "requests": [
            {
                "reference": request.reference,
                "kind": "relative",
                "status": "received",
                "submitted_at": "<moment>",
                "urgency": "soon",
                "age_band": "15_17",
                "relationship": "parent",
                "help_wanted": ["support_talks", "relocation"],
                "phone": "070-123 45 67",
                "safe_times": ["weekday_evening"],
                "voicemail_ok": False,
                "sms_ok": True,
                "code_word": "blåbär",
                "contact_language": "sv",
                "interpreter_needed": False,
                "name": "Sara",
                "birth_year": "1998",
                "account": "Jag vill komma bort från gänget innan det är för sent.",
                "added_information": [{"at": "<moment>", "text": "Jag kan bara prata efter 18."}],
                "messages": [{"at": "<moment>", "from": "you", "text": "Hej, när ringer ni?"}],
            }
        ],
    }
    page = client_browser.get("/my/data").get_data(as_text=True)
    for shown in (request.reference, "Hej, när ringer ni?", "Jag kan bara prata efter 18."):
        assert shown in page


def test_deleting_the_account_removes_requests_that_are_not_cases(
    app, client_browser, fill_request
):
    fill_request(client_browser)
    response = client_browser.post("/my/delete", {})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(ClientRequest.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(Message.id))) == 0
    relogin = client_browser.post("/login", {"username": "stilla-flod-1234", "password": PASSWORD})
    assert relogin.status_code == 401


def test_a_request_that_became_a_case_is_kept_without_the_account(
    app, client_browser, fill_request
):
    from app.core.clock import utcnow

    fill_request(client_browser)
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        request.became_case_at = utcnow()
        db.session.commit()
    page = client_browser.get("/my/delete").get_data(as_text=True)
    assert "The law requires social services to keep case records" in page
    client_browser.post("/my/delete", {})
    with app.app_context():
        kept = db.session.scalars(sa.select(ClientRequest)).one()
        assert kept.client_id is None


def test_deletion_needs_a_fresh_code(app, clock, client_browser):
    clock.shift(6 * 60)
    response = client_browser.get("/my/delete")
    assert response.status_code == 302 and "/step-up" in response.headers["Location"]
    clock.shift(30)
    ok = client_browser.post(
        response.headers["Location"], {"code": pyotp.TOTP(client_browser.secret).now()}
    )
    assert ok.headers["Location"].endswith("/my/delete")


def test_retention_removes_accounts_that_never_submitted(app, clock, client_browser):
    days = rule("unsubmitted_client_account").value
    runner = app.test_cli_runner()
    assert "0" in runner.invoke(args=["retention", "run", "--dry-run"]).output
    clock.shift(timedelta(days=days, hours=1))
    dry = runner.invoke(args=["retention", "run", "--dry-run"])
    assert ": 1" in dry.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) >= 1
    runner.invoke(args=["retention", "run"])
    with app.app_context():
        clients = sa.select(User.username).where(User.role == Role.CLIENT)
        remaining = db.session.scalars(clients).all()
    assert "stilla-flod-1234" not in remaining


def test_retention_keeps_accounts_that_submitted(app, clock, client_browser, fill_request):
    fill_request(client_browser)
    clock.shift(timedelta(days=30))
    app.test_cli_runner().invoke(args=["retention", "run"])
    with app.app_context():
        clients = sa.select(sa.func.count(User.id)).where(User.role == Role.CLIENT)
        assert db.session.scalar(clients) == 1
