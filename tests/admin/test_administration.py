"""Organisations, invitations and settings: administrators run the installation, and
nothing on these pages (or anywhere) lets them read case content."""

import re

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.rules import rule
from app.settings.models import SiteSetting

SETTINGS = {
    "first_contact_acute": "0",
    "first_contact_other": "3",
    "unsubmitted_client_account": "7",
    "request_without_case": "12",
    "sent_mail": "30",
    "audit_events": "5",
    "enabled_languages": ["sv", "en", "ar", "so"],
    "quick_exit_url": "https://www.smhi.se/",
    "neutral_title": "Stöd och råd",
    "dpo_contact": "dataskyddsombud@malmo.se",
    "accessibility_reviewed_on": "2026-12-06",
    "office_opens": "08:00",
    "office_closes": "16:30",
}


def admin_browser(browser, make_account, log_in):
    log_in(browser, make_account(Role.ADMIN))
    return browser


def test_an_administrator_adds_and_edits_an_organisation(app, browser, make_account, log_in):
    admin_browser(browser, make_account, log_in)
    response = browser.post(
        "/admin/organisations/new",
        {"name": "Kriminalvården Syd", "kind": "agency", "mailbox": "syd@kriminalvarden.test"},
    )
    assert response.status_code == 302
    with app.app_context():
        org = db.session.scalars(
            sa.select(Organisation).where(Organisation.name == "Kriminalvården Syd")
        ).one()
        assert (org.slug, org.kind, org.mailbox) == (
            "kriminalvarden-syd",
            OrgKind.AGENCY,
            "syd@kriminalvarden.test",
        )
    assert "Kriminalvården Syd" in browser.get("/admin/organisations").get_data(as_text=True)

    response = browser.post(
        f"/admin/organisations/{org.id}", {"name": "Kriminalvården Region Syd", "mailbox": ""}
    )
    assert response.status_code == 302
    with app.app_context():
        org = db.session.get(Organisation, org.id)
        assert (org.name, org.mailbox, org.active) == ("Kriminalvården Region Syd", None, False)
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"org.created", "org.updated", "org.deactivated"} <= set(actions)


def test_an_administrator_cannot_deactivate_their_own_organisation(
    app, browser, make_account, log_in, organisation
):
    admin_browser(browser, make_account, log_in)
    # The form leaves "active" unticked: the organisation would be switched off.
    refused = browser.post(
        f"/admin/organisations/{organisation.id}", {"name": "Nytt namn", "mailbox": ""}
    )
    assert refused.status_code == 400
    assert "You cannot deactivate your own organisation." in refused.get_data(as_text=True)
    with app.app_context():
        own = db.session.get(Organisation, organisation.id)
        assert own.active and own.name != "Nytt namn"


def test_bad_organisation_input_is_refused_with_its_message_and_nothing_saved(
    app, browser, make_account, log_in
):
    admin_browser(browser, make_account, log_in)
    response = browser.post(
        "/admin/organisations/new", {"name": "Polisen\u202e", "kind": "agency", "mailbox": "nej"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Use ordinary letters, digits and punctuation on one line." in page
    assert "This does not look like an e-mail address." in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1


def test_an_administrator_invites_a_caseworker_who_joins_with_that_role(
    app, browser, new_browser, make_account, log_in, organisation
):
    admin_browser(browser, make_account, log_in)
    response = browser.post(
        "/admin/users/invite",
        {"organisation": str(organisation.id), "role": "caseworker", "email": "ny@malmo.test"},
    )
    assert response.status_code == 302
    # A caseworker reads case files: the link goes out once a team lead approves.
    with app.app_context():
        from app.consultations.models import AccountInvitation

        invitation_id = db.session.scalars(sa.select(AccountInvitation.id)).one()
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    approved = lead.post(
        f"/team/role-grants/{invitation_id}/approve",
        {"back": "/team/role-grants"},
        form_page="/team/role-grants",
    )
    assert approved.status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
    assert mail.recipient == "ny@malmo.test"
    path = "/join/" + re.search(r"/join/(\S+)", mail.body).group(1)

    joined = new_browser().post(
        path,
        {
            "username": "ny-handlaggare",
            "password": "tre-lugna-ord-i-natten",
            "confirm_password": "tre-lugna-ord-i-natten",
        },
    )
    assert joined.status_code == 302
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.username == "ny-handlaggare")).one()
        assert (user.role, user.organisation_id) == (Role.CASEWORKER, organisation.id)
    # The link works once.
    assert new_browser().get(path).status_code == 404


def test_roles_an_organisation_cannot_have_are_refused(
    app, browser, make_account, log_in, other_orgs
):
    admin_browser(browser, make_account, log_in)
    with app.app_context():
        police = db.session.scalars(
            sa.select(Organisation.id).where(Organisation.slug == "polisen")
        ).one()
        other_team = db.session.scalars(
            sa.select(Organisation.id).where(Organisation.slug == "annat-team")
        ).one()
    refused = browser.post(
        "/admin/users/invite",
        {"organisation": str(police), "role": "admin", "email": "chef@polisen.test"},
    )
    assert refused.status_code == 400
    assert "cannot have members with that role" in refused.get_data(as_text=True)
    # Another municipality's team is theirs to staff, not ours.
    other = browser.post(
        "/admin/users/invite",
        {"organisation": str(other_team), "role": "caseworker", "email": "x@annat.test"},
    )
    assert other.status_code == 400
    assert "Not a valid choice" in other.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_an_agency_administrator_manages_neither_organisations_nor_settings(
    app, browser, make_account, log_in, other_orgs
):
    log_in(browser, make_account(Role.ADMIN, org_slug="polisen"))
    assert browser.get("/admin/users").status_code == 200
    assert browser.get("/admin/organisations").status_code == 403
    assert browser.get("/admin/settings").status_code == 403


def test_settings_change_the_rules_the_pages_and_the_languages(
    app, browser, new_browser, make_account, log_in
):
    admin_browser(browser, make_account, log_in)
    form = browser.get("/admin/settings").get_data(as_text=True)
    assert 'value="2"' in form  # first contact: the default from rules.toml

    response = browser.post("/admin/settings", SETTINGS)
    assert response.status_code == 302
    with app.app_context(), app.test_request_context():
        assert rule("first_contact_other").value == 3
        assert rule("records_deletion").value == 5  # the law is not a setting
    visitor = new_browser()
    page = visitor.get("/").get_data(as_text=True)
    assert "<title>Stöd och råd</title>" in page or "– Stöd och råd</title>" in page
    assert 'href="https://www.smhi.se/"' in page
    assert 'hreflang="so"' in page and 'hreflang="ti"' not in page
    # Asking for a language that is no longer offered changes nothing; one offered works.
    assert '<html lang="ti"' not in visitor.get("/?lang=ti").get_data(as_text=True)
    assert '<html lang="so"' in visitor.get("/?lang=so").get_data(as_text=True)
    with app.app_context():
        changed = db.session.scalars(
            sa.select(AuditEvent.subject_id).where(AuditEvent.action == "settings.changed")
        ).all()
    assert "quick_exit_url" in changed and "period:first_contact_other" in changed
    assert "period:sent_mail" not in changed  # unchanged values are not rewritten


def test_unsafe_or_impossible_settings_are_refused_and_nothing_is_saved(
    app, browser, make_account, log_in
):
    admin_browser(browser, make_account, log_in)
    bad = {
        **SETTINGS,
        "quick_exit_url": "javascript:alert(1)",
        "audit_events": "1",
        "first_contact_other": "många",
        "enabled_languages": ["en", "ar"],
    }
    response = browser.post("/admin/settings", bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Write a full address that starts with https://." in page
    assert "Number must be between 2 and 10." in page
    assert "Write a whole number." in page or "Not a valid integer value." in page
    response = browser.post("/admin/settings", {**SETTINGS, "enabled_languages": ["en", "ar"]})
    assert response.status_code == 400
    assert "Swedish must stay offered." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SiteSetting)) == 0


def test_administrators_cannot_reach_case_content(app, scene, new_browser, make_account, log_in):
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    content = [
        f"/team/cases/{scene.case_id}",
        f"/team/triage/{scene.request_id}",
        f"/inbox/{scene.request_id}",
        "/team/cases",
        "/team/triage",
        "/inbox",
        "/team/overview",
        "/team/access-log",
        "/team/statistics",
    ]
    for path in content:
        # The pages exist and show content to the team (so a refusal here means something).
        assert lead.get(path).status_code == 200, path
        response = admin.get(path)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "blåbär" not in response.get_data(as_text=True)
