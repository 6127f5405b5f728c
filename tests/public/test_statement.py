"""The accessibility statement (DIGG's model) and the privacy notice say what the law asks."""

import re
from datetime import date

from flask_babel import force_locale

from app.auth.models import Role
from app.i18n import local_date
from app.rules import rule
from app.settings import services as site_settings


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_statement_declares_partial_compliance_and_the_neutral_titles(browser, organisation):
    html = browser.get("/accessibility").get_data(as_text=True)
    text = text_of(html)
    assert "partially compliant" in text
    # The deviation, the criterion it breaks, and why it is kept: the person's safety.
    assert "“Kontakt”" in text and "2.4.2" in text
    assert "on purpose, for the safety of the people who use the service" in text


def test_the_statement_gives_its_review_date_in_words(app, browser, organisation):
    html = text_of(browser.get("/accessibility").get_data(as_text=True))
    with app.test_request_context(), force_locale("en"):
        written = local_date(site_settings.STATEMENT_WRITTEN_ON)
    assert f"last reviewed on {written}" in html


def test_the_review_date_follows_the_administrators_setting(
    app, browser, new_browser, make_account, log_in, organisation
):
    from tests.admin.test_administration import SETTINGS

    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    response = admin.post(
        "/admin/settings", {**SETTINGS, "accessibility_reviewed_on": "2027-03-01"}
    )
    assert response.status_code == 302
    html = text_of(browser.get("/accessibility").get_data(as_text=True))
    assert "last reviewed on March 1, 2027" in html


def test_problems_can_be_reported_by_form_or_phone_and_escalated_to_digg(browser, organisation):
    html = browser.get("/accessibility").get_data(as_text=True)
    assert 'href="/accessibility/feedback"' in html
    assert "040-34 10 00" in html
    assert 'href="https://www.digg.se/tdosanmalan"' in html
    # A link, not an asset: the statement loads nothing from Digg.
    assert 'src="https://' not in html


def test_the_statement_sets_no_cookie(app, organisation):
    response = app.test_client().get("/accessibility")
    assert response.headers.getlist("Set-Cookie") == []


def test_the_privacy_notice_says_when_the_police_or_social_services_are_told(
    app, browser, organisation
):
    text = text_of(browser.get("/privacy").get_data(as_text=True))
    with app.app_context():
        child, police = rule("duty_to_report_age_limit"), rule("police_information_age_limit")
    assert "we call 112 and the police" in text
    assert f"If a child under {child.value} may be harmed" in text and child.citation in text
    assert f"a person under {police.value}" in text and police.citation in text
    assert "without your consent" in text


def test_the_privacy_notice_names_the_data_protection_officer_from_the_settings(
    app, browser, new_browser, make_account, log_in, organisation
):
    before = text_of(browser.get("/privacy").get_data(as_text=True))
    assert "ask the municipality's switchboard for the data protection officer" in before
    from tests.admin.test_administration import SETTINGS

    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    assert admin.post("/admin/settings", SETTINGS).status_code == 302
    after = text_of(browser.get("/privacy").get_data(as_text=True))
    assert SETTINGS["dpo_contact"] in after


def test_the_default_review_date_is_a_real_day():
    assert date.today() >= site_settings.STATEMENT_WRITTEN_ON
