"""Refusals write nothing: a 4xx rolls back what the view wrote and keeps only its audit
events (and the facts a refusal itself establishes, such as an expired session ending)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import abort

from app.audit.models import AuditEvent
from app.audit.services import record, verify_chain
from app.auth.guard import public
from app.auth.models import UserSession
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import create_organisation
from tests.conftest import Browser


def _add_writing_views(app):
    """Views that write (a row and audit events), then refuse or succeed."""

    @public
    def refuse(status: int):
        create_organisation(f"half-saved-{status}", "Half saved", OrgKind.AGENCY)
        record("test.refused", details={"status": status})
        if status == 404:
            abort(404)
        return "refused", status

    @public
    def succeed():
        create_organisation("saved-whole", "Saved whole", OrgKind.AGENCY)
        return "ok"

    @public
    def commit_then_refuse():
        record("test.committed")
        db.session.commit()
        create_organisation("after-commit", "After commit", OrgKind.AGENCY)
        return "refused", 400

    app.add_url_rule("/_test/refuse/<int:status>", "test_refuse", refuse, methods=["POST"])
    app.add_url_rule("/_test/commit-then-refuse", "test_ctr", commit_then_refuse, methods=["POST"])
    app.add_url_rule("/_test/succeed", "test_succeed", succeed, methods=["POST"])
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_view_that_writes_then_refuses_leaves_only_its_audit_events(app, status):
    """Given a view that creates a row and audits, then answers 4xx, the row is gone and the
    audit events (its own and the row's creation) are kept, in a chain that still verifies."""
    _add_writing_views(app)
    client = app.test_client()
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq))) or 0
    assert client.post("/_test/succeed").status_code == 200
    assert client.post(f"/_test/refuse/{status}").status_code == status
    with app.app_context():
        slugs = set(db.session.scalars(sa.select(Organisation.slug)))
        assert "saved-whole" in slugs
        assert f"half-saved-{status}" not in slugs
        actions = list(
            db.session.scalars(
                sa.select(AuditEvent.action).where(AuditEvent.seq > before).order_by(AuditEvent.seq)
            )
        )
        assert actions == ["org.created", "org.created", "test.refused"]
        assert verify_chain() == []


def test_an_expired_session_presented_with_a_refused_post_stays_ended(
    app, make_account, log_in, clock
):
    """Given an idle session, a POST that the guard refuses (401) still ends it for good."""
    browser = Browser(app.test_client())
    log_in(browser, make_account())
    browser.get("/account/")  # the form's token, taken while the session was alive
    clock.shift(16 * 60)
    response = browser.client.post(
        "/account/sessions/end-all", data={"csrf_token": browser.last_csrf}
    )
    assert response.status_code == 401
    with app.app_context():
        reasons = db.session.scalars(sa.select(UserSession.revoked_reason)).all()
        assert "idle_timeout" in reasons
        assert "session.revoked" in db.session.scalars(sa.select(AuditEvent.action)).all()
        assert verify_chain() == []


def test_a_refusal_after_a_commit_writes_the_committed_events_only_once(app):
    _add_writing_views(app)
    client = app.test_client()
    assert client.post("/_test/commit-then-refuse").status_code == 400
    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.seq)))
        assert actions.count("test.committed") == 1
        assert "after-commit" not in set(db.session.scalars(sa.select(Organisation.slug)))
        assert actions[-1] == "org.created"  # the uncommitted row's event is kept, the row not
        assert verify_chain() == []
