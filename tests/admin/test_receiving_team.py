"""An installation with more than one exit team never silently refuses clients: adding a
second team keeps the public's requests with the first until an administrator chooses
otherwise, and a setup where no team can be named says so where people look."""

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import Organisation, OrgKind
from tests.admin.test_administration import SETTINGS


def _team_of_the_request(app):
    with app.app_context():
        return db.session.scalar(
            sa.select(Organisation.slug)
            .join(ClientRequest, ClientRequest.organisation_id == Organisation.id)
            .order_by(ClientRequest.submitted_at.desc())
            .limit(1)
        )


def test_adding_a_second_exit_team_keeps_clients_requests_coming_to_the_first(
    app, new_browser, make_account, log_in, client_browser, fill_request
):
    # Given the host team's administrator adds a second exit team (INTAKE_ORGANISATION unset)
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    added = admin.post(
        "/admin/organisations/new", {"name": "Konsultationsteamet Lund", "kind": "exit_team"}
    )
    assert added.status_code == 302
    # When a client sends a request
    response = fill_request(client_browser)
    # Then it is received, by the team that received them before
    assert response.status_code == 302 and "/my/requests/" in response.headers["Location"]
    assert _team_of_the_request(app) == "malmo-team"
    with app.app_context():
        changed = db.session.scalars(
            sa.select(AuditEvent.subject_id).where(AuditEvent.action == "settings.changed")
        ).all()
    assert changed == ["intake_organisation"]
    assert app.test_client().get("/healthz").get_json()["intake"] == "ok"


def test_the_administrator_chooses_which_team_receives_the_requests(
    app, new_browser, make_account, log_in, client_browser, fill_request
):
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    admin.post(
        "/admin/organisations/new", {"name": "Konsultationsteamet Lund", "kind": "exit_team"}
    )
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "Exit team that receives requests from the public pages" in page
    assert '<option value="malmo-team" selected>' in page
    refused = admin.post("/admin/settings", {**SETTINGS, "intake_organisation": "ingen"})
    assert refused.status_code == 400
    saved = admin.post(
        "/admin/settings", {**SETTINGS, "intake_organisation": "konsultationsteamet-lund"}
    )
    assert saved.status_code == 302
    assert fill_request(client_browser).status_code == 302
    assert _team_of_the_request(app) == "konsultationsteamet-lund"


def test_with_no_team_to_name_the_health_check_and_the_settings_say_so(
    app, new_browser, make_account, log_in, organisation
):
    # Given a second exit team added behind the application's back, and no team named
    with app.app_context():
        db.session.add(Organisation(slug="lund", name="Lund", kind=OrgKind.EXIT_TEAM))
        db.session.commit()
    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {
        "status": "degraded",
        "database": "ok",
        "throttling": "ok",
        "intake": "no_receiving_team",
    }
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert "No exit team receives requests from the public pages" in page
    # Choosing one ends it
    assert (
        admin.post("/admin/settings", {**SETTINGS, "intake_organisation": "lund"}).status_code
        == 302
    )
    assert app.test_client().get("/healthz").get_json()["status"] == "ok"


def test_a_named_team_that_is_switched_off_gives_way_to_the_only_active_one(
    app, new_browser, make_account, log_in, client_browser, fill_request
):
    admin = new_browser()
    log_in(admin, make_account(Role.ADMIN))
    admin.post(
        "/admin/organisations/new", {"name": "Konsultationsteamet Lund", "kind": "exit_team"}
    )
    admin.post("/admin/settings", {**SETTINGS, "intake_organisation": "konsultationsteamet-lund"})
    with app.app_context():
        lund = db.session.scalars(
            sa.select(Organisation).where(Organisation.slug == "konsultationsteamet-lund")
        ).one()
        lund.active = False
        db.session.commit()
    assert fill_request(client_browser).status_code == 302
    assert _team_of_the_request(app) == "malmo-team"
