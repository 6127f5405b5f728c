"""The team lead's access-log review: filters, flags, monthly records, the chain's state."""

import re

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.extensions import db
from app.oversight.services import previous_month


def lead_browser(make_account, new_browser, log_in):
    browser = new_browser()
    log_in(browser, make_account(Role.TEAM_LEAD))
    return browser


def test_only_team_leads_see_the_access_log(scene, make_account, new_browser, log_in):
    assert scene.owner_browser.get("/team/access-log").status_code == 403
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    assert admin.get("/team/access-log").status_code == 403


def test_break_the_glass_and_protected_access_are_flagged(
    app, scene, make_account, new_browser, log_in
):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/protection",
        {"level": "sekretessmarkering"},
        form_page=f"/team/cases/{scene.case_id}",
    )
    colleague = new_browser()
    log_in(colleague, make_account(Role.CASEWORKER))
    colleague.post(f"/team/cases/{scene.case_id}/break-glass", {"reason": "Akut samtal."})
    lead = lead_browser(make_account, new_browser, log_in)
    page = lead.get("/team/access-log?flagged=y").get_data(as_text=True)
    assert "<td>Emergency access to a case</td>" in page and "<td>case.break_glass" not in page
    assert "emergency access" in page and "protected identity" in page
    assert "Akut samtal." not in page  # the reason is encrypted in the grant, not in the log


def test_filters_by_case_and_action(app, scene, make_account, new_browser, log_in):
    lead = lead_browser(make_account, new_browser, log_in)
    page = lead.get(f"/team/access-log?case={scene.case_id}&action=case.opened").get_data(
        as_text=True
    )
    assert page.count("<td>Case opened</td>") == 1
    assert "<td>Logged in</td>" not in page


def test_the_unreviewed_month_is_reminded_until_a_review_is_recorded(
    app, scene, make_account, new_browser, log_in
):
    lead = lead_browser(make_account, new_browser, log_in)
    month = previous_month()
    for page in ("/team/access-log", "/team/overview"):
        assert f"for {month} has not been reviewed" in lead.get(page).get_data(as_text=True)
    bad = lead.post(
        "/team/access-log/reviews",
        {"period": "2026-13", "findings": "x"},
        form_page="/team/access-log",
    )
    assert bad.status_code == 400
    ok = lead.post(
        "/team/access-log/reviews",
        {"period": month, "findings": "Inget avvikande."},
        form_page="/team/access-log",
    )
    assert ok.status_code == 302
    page = lead.get("/team/access-log").get_data(as_text=True)
    assert "has not been reviewed" not in page and "Inget avvikande." in page
    assert "has not been reviewed" not in lead.get("/team/overview").get_data(as_text=True)
    again = lead.post(
        "/team/access-log/reviews",
        {"period": month, "findings": "Igen."},
        form_page="/team/access-log",
    )
    assert again.status_code == 400


def test_a_broken_chain_is_shown(app, scene, make_account, new_browser, log_in):
    lead = lead_browser(make_account, new_browser, log_in)
    with app.app_context():
        db.session.execute(
            sa.update(AuditEvent).where(AuditEvent.seq == 2).values(action="tampered")
        )
        db.session.commit()
    assert "The audit chain is broken" in lead.get("/team/access-log").get_data(as_text=True)


def test_the_log_names_people_and_cases_as_staff_do_and_pages(
    app, scene, make_account, new_browser, log_in
):
    """Who by name (with their organisation when they are not of the team), which case by
    its reference, what in words, fifty events a page with a link to older ones."""
    with app.app_context():
        from app.audit.services import record
        from app.cases.models import Case

        case = db.session.get(Case, scene.case_id)
        reference = case.reference
        for _ in range(60):
            record("case.viewed", subject=case, organisation_id=case.organisation_id)
        db.session.commit()
    lead = lead_browser(make_account, new_browser, log_in)
    first = lead.get("/team/access-log?action=case.viewed").get_data(as_text=True)
    assert first.count("<td>Case opened for reading</td>") == 50
    assert f">{reference}</a>" in first
    older = re.search(r'<a href="(/team/access-log\?[^"]*before=\d+[^"]*)">Older events</a>', first)
    assert older, first[-3000:]
    second = lead.get(older[1].replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<td>Case opened for reading</td>") >= 10
    assert "Older events" not in second


def test_a_bad_page_cursor_is_a_clean_answer(scene, make_account, new_browser, log_in):
    lead = lead_browser(make_account, new_browser, log_in)
    assert lead.get("/team/access-log?before=abc").status_code == 200


def test_outside_office_hours_follows_the_teams_hours(
    app, clock, scene, make_account, new_browser, log_in
):
    """An event at 17:00 on a weekday is inside the default hours (07–18) and outside
    08:00–16:30 once the administrator sets those."""
    from datetime import datetime

    from app.audit.services import record
    from app.cases.models import Case
    from app.rules import LOCAL_TIME
    from app.settings import services as site_settings

    clock.move_to(datetime(2026, 12, 2, 17, 0, tzinfo=LOCAL_TIME))  # a Wednesday
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        record("case.viewed", subject=case, organisation_id=case.organisation_id,
               actor_id=case.assignments[0].user_id)  # fmt: skip
        db.session.commit()
    clock.move_to(datetime(2026, 12, 3, 10, 0, tzinfo=LOCAL_TIME))
    lead = lead_browser(make_account, new_browser, log_in)
    url = "/team/access-log?action=case.viewed&start=2026-12-02&end=2026-12-02"
    assert "outside office hours" not in lead.get(url).get_data(as_text=True)
    with app.app_context():
        site_settings.save(
            {site_settings.OFFICE_OPENS_KEY: "08:00", site_settings.OFFICE_CLOSES_KEY: "16:30"},
            None,
        )
        db.session.commit()
    assert "outside office hours" in lead.get(url).get_data(as_text=True)
