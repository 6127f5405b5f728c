"""Reporting an accessibility problem: a public form, kept encrypted, read and deleted by
the administrators of the public pages, and limited so no stranger can flood it."""

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.extensions import db
from app.feedback.models import AccessibilityFeedback

REPORT = {
    "message": "Knappen för att skicka syns inte med förstoring 400 %.\nSida: frågan om hjälp.",
    "reply_to": "svar@example.org",
}


def stored(app):
    with app.app_context():
        return db.session.scalars(sa.select(AccessibilityFeedback)).all()


def test_a_visitor_reports_a_problem_and_it_is_kept_encrypted(app, browser, organisation):
    response = browser.post("/accessibility/feedback", REPORT)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/accessibility")
    assert "Thank you" in browser.get("/accessibility").get_data(as_text=True)
    [report] = stored(app)
    assert report.message == REPORT["message"] and report.reply_to == REPORT["reply_to"]
    assert report.language == "en"
    with app.app_context():
        raw = repr(db.session.execute(sa.text("SELECT * FROM accessibility_feedback")).all())
    assert "förstoring" not in raw and "svar@example.org" not in raw


def test_a_report_without_a_token_or_a_message_is_refused_and_nothing_is_kept(
    app, browser, organisation
):
    browser.get("/accessibility/feedback")
    no_token = browser.client.post("/accessibility/feedback", data=REPORT)
    assert no_token.status_code == 400
    empty = browser.post("/accessibility/feedback", {"message": "  ", "reply_to": ""})
    assert empty.status_code == 400
    assert "Tell us what did not work." in empty.get_data(as_text=True)
    assert "Traceback" not in empty.get_data(as_text=True)
    assert stored(app) == []


def test_a_filled_honeypot_keeps_nothing(app, browser, organisation):
    response = browser.post("/accessibility/feedback", {**REPORT, "website": "http://spam"})
    assert response.status_code == 400
    assert stored(app) == []


def test_one_address_cannot_flood_the_form(app, browser, organisation):
    answers = [browser.post("/accessibility/feedback", REPORT).status_code for _ in range(7)]
    assert answers[:5] == [302] * 5
    assert answers[5:] == [429, 429]
    assert len(stored(app)) == 5


def test_the_administrator_reads_and_deletes_reports_and_nobody_else_sees_them(
    app, browser, new_browser, make_account, log_in, organisation
):
    browser.post("/accessibility/feedback", REPORT)
    [report] = stored(app)
    worker = new_browser()
    log_in(worker, make_account(Role.CASEWORKER))
    assert worker.get("/admin/feedback").status_code == 403
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    page = admin.get("/admin/feedback").get_data(as_text=True)
    assert "förstoring 400 %" in page and "svar@example.org" in page
    assert 'dir="auto"' in page
    deleted = admin.post(
        "/admin/feedback/delete", {"feedback": str(report.id)}, form_page="/admin/feedback"
    )
    assert deleted.status_code == 302
    assert stored(app) == []
    again = admin.post(
        "/admin/feedback/delete", {"feedback": str(report.id)}, form_page="/admin/feedback"
    )
    assert again.status_code == 302
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "feedback.deleted")
        ).all()
    assert [e.subject_id for e in events] == [str(report.id)]  # once, however often asked


def test_retention_deletes_forgotten_reports(app, browser, organisation, clock):
    from datetime import timedelta

    from app.retention.services import delete, due_for_deletion
    from app.rules import rule

    browser.post("/accessibility/feedback", REPORT)
    with app.app_context(), app.test_request_context():
        assert due_for_deletion().accessibility_feedback == []
        months = rule("accessibility_feedback").value
    clock.shift(timedelta(days=31 * months + 1))
    with app.app_context(), app.test_request_context():
        due = due_for_deletion()
        assert len(due.accessibility_feedback) == 1
        delete(due)
        db.session.commit()
    assert stored(app) == []
