"""The request's steps as a person meets them: defaults in their language, questions only
where they apply, a review of every answer, words for relatives, one request at a time."""

import json
import re

import pyotp
import pytest
import sqlalchemy as sa

from app.auth.models import Role, User
from app.extensions import db
from app.intake import services as intake_services
from app.intake.models import ClientRequest, RequestDraft, RequestStatus
from app.rules import rule
from tests.conftest import PASSWORD, STEPS

NO_PHONE = {"phone": "", "contact_language": "sv"}


def draft_of(app):
    with app.app_context():
        draft = db.session.scalars(sa.select(RequestDraft)).one_or_none()
        return json.loads(draft.data) if draft else None


def requests_stored(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(ClientRequest.id)))


def the_client(app):
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.role == Role.CLIENT)).one()
        db.session.expunge(user)
        return user


def selected_language(html):
    match = re.search(r'<option value="([a-z]+)" selected>', html)
    return match and match.group(1)


@pytest.mark.parametrize("language", ["so", "ar", "sv"])
def test_the_contact_language_starts_as_the_pages_language(client_browser, language):
    client_browser.client.get(f"/my/?lang={language}")
    client_browser.post("/my/request/kind", {"kind": "defector"})
    html = client_browser.get("/my/request/contact").get_data(as_text=True)
    assert selected_language(html) == language


def test_a_chosen_contact_language_is_kept_over_the_pages_language(client_browser):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    client_browser.post("/my/request/contact", {**STEPS["contact"], "contact_language": "ar"})
    client_browser.client.get("/my/?lang=so")
    html = client_browser.get("/my/request/contact").get_data(as_text=True)
    assert selected_language(html) == "ar"


def test_without_a_phone_the_call_questions_are_not_required_nor_kept(app, client_browser):
    """Given no phone number, when the person answers nothing about calls (or answers by
    mistake), the step is saved, and nothing about calls is kept or sent."""
    client_browser.post("/my/request/kind", {"kind": "defector"})
    response = client_browser.post(
        "/my/request/contact",
        {**NO_PHONE, "voicemail_ok": "yes", "code_word": "blåbär", "safe_times": ["weekend"]},
    )
    assert response.status_code == 302
    draft = draft_of(app)
    assert draft["phone"] == "" and draft["voicemail_ok"] is None
    assert draft["code_word"] is None and draft["safe_times"] == []
    client_browser.post("/my/request/help", STEPS["help"])
    response = client_browser.post("/my/request/review", {})
    assert response.status_code == 302 and "/my/requests/" in response.headers["Location"]
    with app.app_context():
        sent = db.session.scalars(sa.select(ClientRequest)).one()
        assert sent.phone is None and sent.code_word is None
        assert not (sent.voicemail_ok or sent.sms_ok or sent.interpreter_needed)
        assert json.loads(sent.safe_times) == []


@pytest.mark.parametrize("missing", ["voicemail_ok", "sms_ok", "interpreter"])
def test_with_a_phone_the_call_questions_are_required(app, client_browser, missing):
    """Given a phone number, when a question about calls is left unanswered, the step is
    refused with a translated message and nothing of it is saved."""
    client_browser.post("/my/request/kind", {"kind": "defector"})
    answers = {k: v for k, v in STEPS["contact"].items() if k != missing}
    response = client_browser.post("/my/request/contact", answers)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose yes or no." in html
    assert re.search(rf'aria-describedby="[^"]*{missing}-error', html)
    assert "phone" not in draft_of(app)


def test_a_draft_with_a_phone_and_no_call_answers_is_not_sent(app, client_browser):
    """The server's own rule, whatever the page sent: a draft edited to hold a phone number
    without the answers about calls is refused whole and the person is sent to that step."""
    with app.app_context():
        user = db.session.get(User, the_client(app).id)
        intake_services.save_draft(
            user,
            {"kind": "defector", **STEPS["help"], "phone": "070-123 45 67", "sms_ok": "yes"},
        )
        db.session.commit()
    response = client_browser.post("/my/request/review", {})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/my/request/contact")
    assert requests_stored(app) == 0
    assert draft_of(app)["phone"] == "070-123 45 67"  # the draft is kept to finish


def fill_steps(browser, **overrides):
    order = ["kind", "person", "help", "contact", "identity", "story"]
    answers = {step: dict(STEPS.get(step, {})) for step in order}
    for step, values in overrides.items():
        answers[step].update(values)
    for step in order:
        if answers[step]:
            assert browser.post(f"/my/request/{step}", answers[step]).status_code == 302, step


def test_the_review_shows_every_answer_with_a_way_to_change_it(client_browser):
    story = "Rad ett.\nRad två – سطر ثلاثة."
    fill_steps(
        client_browser,
        contact={"interpreter": "yes", "contact_language": "ar"},
        identity={"name": "Sam", "birth_year": "1999"},
        story={"account_text": story},
    )
    html = client_browser.get("/my/request/review").get_data(as_text=True)
    answers = html.split('<dl class="summary answers">')[1].split("</dl>")[0]
    for shown in (
        "I want to leave crime",
        "Someone to talk to and Help to move somewhere safe, with housing and support",
        "Within a few days",
        "العربية",  # the language, named in itself
        '<bdi dir="ltr">070-123 45 67</bdi>',
        "Weekdays, evening",
        "Can we leave a voice message?",
        "Can we send a text message?",
        "<bdi>blåbär</bdi>",
        "Do you need an interpreter?",
        "<bdi>Sam</bdi>",
        '<bdi dir="ltr">1999</bdi>',
        f'<dd class="story" dir="auto">{story}</dd>',
    ):
        assert shown in answers, shown
    changes = set(re.findall(r'href="/my/request/(\w+)\?then=review"', answers))
    assert changes == {"kind", "help", "contact", "identity", "story"}
    assert "Step " not in html  # the steps are named, never counted


def test_a_change_from_the_review_returns_to_it(app, client_browser):
    fill_steps(client_browser)
    page = client_browser.get("/my/request/identity?then=review").get_data(as_text=True)
    assert 'action="/my/request/identity?then=review"' in page
    response = client_browser.post(
        "/my/request/identity?then=review", {"name": "Sam", "birth_year": ""}
    )
    assert response.headers["Location"].endswith("/my/request/review")
    assert draft_of(app)["name"] == "Sam"
    # "Back without changing" keeps what was there.
    response = client_browser.post(
        "/my/request/identity?then=review", {"name": "Kim", "birth_year": "", "back": "1"}
    )
    assert response.headers["Location"].endswith("/my/request/review")
    assert draft_of(app)["name"] == "Sam"


def test_becoming_a_relative_from_the_review_asks_what_a_relative_must_answer(client_browser):
    fill_steps(client_browser)
    response = client_browser.post("/my/request/kind?then=review", {"kind": "relative"})
    assert response.headers["Location"].endswith("/my/request/person?then=review")
    response = client_browser.post(
        "/my/request/person?then=review", {"relationship": "parent", "age_band": "18_20"}
    )
    # The help chosen from the person leaving's list does not fit a relative.
    assert response.headers["Location"].endswith("/my/request/help?then=review")
    response = client_browser.post(
        "/my/request/help?then=review", {"help_wanted": ["advice"], "urgency": "soon"}
    )
    assert response.headers["Location"].endswith("/my/request/review")


def test_the_steps_are_named_and_the_same_on_every_page(client_browser):
    client_browser.post("/my/request/kind", {"kind": "relative"})
    lists = set()
    for step in ("person", "help", "contact", "identity", "story", "review"):
        html = client_browser.get(f"/my/request/{step}").get_data(as_text=True)
        assert "Step " not in html
        step_list = html.split('<ol class="step-list">')[1].split("</ol>")[0]
        lists.add(re.sub(r' aria-current="step"', "", step_list))
        assert step_list.count('aria-current="step"') == 1
    assert len(lists) == 1
    assert "The person" in lists.pop()


def test_a_relative_is_offered_help_for_a_relative(app, client_browser):
    client_browser.post("/my/request/kind", {"kind": "relative"})
    html = client_browser.get("/my/request/help").get_data(as_text=True)
    assert "Help for you as a relative" in html
    assert "Advice on what I can do" in html and "Someone is in danger right now" in html
    assert "Help to move somewhere safe" not in html and "I am in danger right now" not in html
    # The person leaving's help is refused for a relative, and nothing is saved.
    response = client_browser.post(
        "/my/request/help", {"help_wanted": ["relocation"], "urgency": "soon"}
    )
    assert response.status_code == 400
    assert "help_wanted" not in draft_of(app)
    story = client_browser.get("/my/request/story").get_data(as_text=True)
    assert "Tell us about your worry" in story


def test_the_under_18_text_says_what_the_law_makes_us_do_and_whom_we_may_tell(client_browser):
    client_browser.post("/my/request/kind", {"kind": "relative"})
    html = client_browser.get("/my/request/person").get_data(as_text=True)
    notice = html.split('id="under-18"')[1].split("</div>")[0]
    assert f"If the person is under {rule('duty_to_report_age_limit').value}" in notice
    assert "report of concern to social services" in notice
    assert "The same day" in notice and "needs protection" in notice
    assert f"Within {rule('child_investigation_decision').value} days" in notice
    assert "start an investigation" in notice
    assert "parents or guardians" in notice
    assert f"under {rule('police_information_age_limit').value}, we may also tell the police" in (
        notice
    )
    assert "quickly" not in notice


def test_after_saving_the_recovery_codes_a_new_client_goes_on_to_the_request(browser, organisation):
    browser.post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    html = browser.get("/login/enrol").get_data(as_text=True)
    key = html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    page = browser.post("/login/enrol", {"code": pyotp.TOTP(key.replace(" ", "")).now()})
    codes_page = page.get_data(as_text=True)
    assert re.search(r'<a class="button" href="/my/request/kind">', codes_page)


def test_staff_still_go_to_their_start_page_after_the_codes(app, browser, make_account):
    account = make_account(Role.CASEWORKER, enrolled=False)
    browser.post("/login", {"username": account.username, "password": account.password})
    html = browser.get("/login/enrol").get_data(as_text=True)
    key = html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    page = browser.post("/login/enrol", {"code": pyotp.TOTP(key.replace(" ", "")).now()})
    assert '<a class="button" href="/start/">' in page.get_data(as_text=True)


def test_the_dashboard_offers_no_second_request_while_one_is_open(
    app, client_browser, fill_request
):
    fill_request(client_browser)
    html = client_browser.get("/my/").get_data(as_text=True)
    assert "/my/request/kind" not in html
    assert "Ask for help" not in html and "Continue your request" not in html
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    assert f'href="/my/requests/{request_id}"' in html
    client_browser.post(f"/my/requests/{request_id}/withdraw", {})
    assert "/my/request/kind" in client_browser.get("/my/").get_data(as_text=True)


@pytest.mark.parametrize("status", [RequestStatus.CONTACTED, RequestStatus.IN_PROGRESS])
def test_the_server_refuses_a_second_request_while_one_is_open(
    app, client_browser, fill_request, status
):
    """Given an open request, when the client opens a step or sends a draft (written in
    another tab, or by an older page), it is refused with a clear message, nothing new is
    stored and the draft stays."""
    fill_request(client_browser)
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        request.status = status
        reference = request.reference
        user = db.session.get(User, request.client_id)
        intake_services.save_draft(user, {"kind": "threatened", **STEPS["help"]})
        db.session.commit()
    for step in ("kind", "help"):
        page = client_browser.get(f"/my/request/{step}")
        assert page.status_code == 409
        assert "You already have a request" in page.get_data(as_text=True)
    response = client_browser.post("/my/request/review", {})
    assert response.status_code == 409
    assert reference in response.get_data(as_text=True)
    assert requests_stored(app) == 1
    assert draft_of(app)["kind"] == "threatened"


def test_after_a_request_is_closed_a_new_one_can_be_sent(app, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        db.session.scalars(sa.select(ClientRequest)).one().status = RequestStatus.CLOSED
        db.session.commit()
    response = fill_request(client_browser)
    assert response.status_code == 302 and "/my/requests/" in response.headers["Location"]
    assert requests_stored(app) == 2
