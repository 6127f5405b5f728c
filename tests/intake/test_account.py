"""A client's account: registration, the client's own data, deletion, retention."""

import json
import re
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa

from app.auth.models import Role, User
from app.extensions import db
from app.intake.models import ClientRequest, RequestDraft
from app.messages.models import Message
from app.rules import rule
from tests.conftest import PASSWORD, shown_username


def test_registration_asks_for_no_identity_and_shows_a_made_pseudonym(browser, organisation):
    html = browser.get("/my/register").get_data(as_text=True)
    for field in ("email", "phone", "name"):
        assert f'name="{field}"' not in html
    shown = html.split('id="username"')[1].split('value="')[1].split('"')[0]
    assert re.fullmatch(r"[a-z2-9]{3}-[a-z2-9]{3}-[a-z2-9]{3}", shown)
    assert re.search(r'id="username"[^>]*readonly', html)
    # The same name on every showing of the form, until the account is made.
    assert f'value="{shown}"' in browser.get("/my/register").get_data(as_text=True)


def test_registration_leads_to_enrolment_and_a_client_role(app, client_browser):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == client_browser.username))
        assert user.role is Role.CLIENT and user.organisation_id is None
        assert user.totp_secret == client_browser.secret
    assert client_browser.get("/my/").status_code == 200


def test_the_account_gets_the_name_the_form_showed(app, browser, organisation):
    html = browser.get("/my/register").get_data(as_text=True)
    shown = html.split('id="username"')[1].split('value="')[1].split('"')[0]
    response = browser.post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    assert response.headers["Location"] == "/login/enrol"
    assert shown_username(browser.get("/login/enrol").get_data(as_text=True)) == shown
    with app.app_context():
        assert db.session.scalars(sa.select(User.username)).one() == shown


def test_a_weak_password_is_refused_at_registration(app, browser, organisation):
    response = browser.post(
        "/my/register", {"password": "password123", "confirm_password": "password123"}
    )
    assert response.status_code == 400
    assert "This is a very common password." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_registration_never_says_whether_a_username_exists(
    app, browser, organisation, make_account
):
    """Given a staff account "anna", when a visitor posts the registration form with the
    username "anna" (the form has no such field, but anyone can post one), then an account
    is made under a name of the portal's own and nothing hints that "anna" exists."""
    make_account(Role.CASEWORKER, username="anna")
    response = browser.post(
        "/my/register", {"username": "anna", "password": PASSWORD, "confirm_password": PASSWORD}
    )
    assert response.status_code == 302
    page = browser.get("/login/enrol").get_data(as_text=True)
    assert shown_username(page) != "anna" and "taken" not in page
    with app.app_context():
        clients = db.session.scalars(sa.select(User.username).where(User.role == Role.CLIENT))
        assert clients.one() != "anna"


def test_a_name_that_is_taken_is_replaced_by_a_fresh_one(
    app, browser, organisation, make_account, monkeypatch
):
    """The shown name can be taken by the time the form is sent (one in billions): the
    database's unique index says so, and the account gets a fresh name, shown after."""
    from app.intake import services

    names = iter(["bcd-fgh-jkm", "npq-rst-vwx"])
    monkeypatch.setattr(services, "suggest_username", lambda: next(names))
    browser.get("/my/register")  # shown: bcd-fgh-jkm
    make_account(Role.CLIENT, username="bcd-fgh-jkm")
    response = browser.post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    assert response.status_code == 302
    assert shown_username(browser.get("/login/enrol").get_data(as_text=True)) == "npq-rst-vwx"


def test_usernames_are_long_enough_not_to_be_guessed_and_type_on_any_keyboard():
    from app.intake.services import (
        USERNAME_ALPHABET,
        USERNAME_GROUP_LENGTH,
        USERNAME_GROUPS,
        suggest_username,
    )

    assert len(set(USERNAME_ALPHABET)) ** (USERNAME_GROUPS * USERNAME_GROUP_LENGTH) >= 2**40
    assert set(USERNAME_ALPHABET) <= set("abcdefghijklmnopqrstuvwxyz0123456789")
    assert not set(USERNAME_ALPHABET) & set("aeiouy01lo")
    names = {suggest_username() for _ in range(2000)}
    assert len(names) == 2000
    assert all(re.fullmatch(r"[a-z2-9]{3}-[a-z2-9]{3}-[a-z2-9]{3}", name) for name in names)
    assert set("".join(names).replace("-", "")) == set(USERNAME_ALPHABET)


def test_the_registration_honeypot_refuses_bots(app, browser, organisation):
    response = browser.post(
        "/my/register",
        {
            "password": PASSWORD,
            "confirm_password": PASSWORD,
            "website": "http://spam.example",
        },
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def _moment(value):
    """A timestamp in the export: ISO 8601 with its offset, to the second; the value itself
    is the clock's."""
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() is not None and moment.microsecond == 0, value
    assert "." not in value, value
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
    assert data["account"]["username"] == client_browser.username
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
            "authenticator_app": True,
            "passkeys": 0,
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
                "help_wanted": ["advice", "family_support"],
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
    relogin = client_browser.post(
        "/login", {"username": client_browser.username, "password": PASSWORD}
    )
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
    assert client_browser.username not in remaining


def test_retention_keeps_accounts_that_submitted(app, clock, client_browser, fill_request):
    fill_request(client_browser)
    clock.shift(timedelta(days=30))
    app.test_cli_runner().invoke(args=["retention", "run"])
    with app.app_context():
        clients = sa.select(sa.func.count(User.id)).where(User.role == Role.CLIENT)
        assert db.session.scalar(clients) == 1


def test_retention_keeps_an_account_in_use_whatever_its_age(app, clock, client_browser):
    """Given an account registered longer ago than the limit, whose owner logged in again
    and is writing a request this minute, retention keeps it, draft and session too; it
    goes once it has not been used for the whole limit."""
    days = rule("unsubmitted_client_account").value
    with app.app_context():
        username = db.session.scalar(sa.select(User.username).where(User.role == Role.CLIENT))
    clock.shift(timedelta(days=days, hours=1))
    client_browser.post("/login", {"username": username, "password": PASSWORD})
    code = client_browser.post("/login/code", {"code": pyotp.TOTP(client_browser.secret).now()})
    assert code.status_code == 302
    assert client_browser.post("/my/request/kind", {"kind": "defector"}).status_code == 302

    app.test_cli_runner().invoke(args=["retention", "run"])
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.username == username))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RequestDraft)) == 1
    assert client_browser.get("/my/request/kind").status_code == 200

    clock.shift(timedelta(days=days, hours=1))
    app.test_cli_runner().invoke(args=["retention", "run"])
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.username == username)) is None
