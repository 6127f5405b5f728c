"""Administrators manage their own organisation's staff, with step-up, and nothing else."""

import sqlalchemy as sa

from app.auth.models import Role, User
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation
from tests.conftest import code_for


def step_up(app, browser, account, back):
    response = browser.get(back)
    if response.status_code == 302 and "/step-up" in response.headers["Location"]:
        browser.post(response.headers["Location"], {"code": code_for(app, account)})


def test_only_administrators_reach_user_administration(browser, make_account, log_in):
    log_in(browser, make_account(Role.CASEWORKER))
    assert browser.get("/admin/users").status_code == 403


def test_resetting_a_second_factor_needs_a_fresh_code_and_ends_sessions(
    app, browser, new_browser, make_account, log_in, clock
):
    admin, worker = make_account(Role.ADMIN), make_account(Role.CASEWORKER)
    worker_browser = new_browser()
    log_in(worker_browser, worker)
    log_in(browser, admin)
    clock.shift(10 * 60)  # the login's own proof of the second factor has gone stale
    browser.get("/admin/users")
    response = browser.post(
        f"/admin/users/{worker.id}/reset-second-factor",
        {"back": "/admin/users"},
        form_page="/admin/users",
    )
    assert response.status_code == 302
    assert "/step-up" in response.headers["Location"]
    with app.app_context():
        assert db.session.get(User, worker.id).totp_secret is not None

    clock.shift(30)
    browser.post(response.headers["Location"], {"code": code_for(app, admin)})
    response = browser.post(
        f"/admin/users/{worker.id}/reset-second-factor",
        {"back": "/admin/users"},
        form_page="/admin/users",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/users")
    with app.app_context():
        assert db.session.get(User, worker.id).totp_secret is None
    assert worker_browser.get("/start/").status_code == 302


def test_an_administrator_cannot_touch_another_organisations_staff(
    app, browser, make_account, log_in
):
    with app.app_context():
        create_organisation("other-team", "Other team", OrgKind.EXIT_TEAM)
        db.session.commit()
    admin = make_account(Role.ADMIN)
    stranger = make_account(Role.CASEWORKER, org_slug="other-team")
    log_in(browser, admin)
    listing = browser.get("/admin/users").get_data(as_text=True)
    assert stranger.username not in listing
    response = browser.post(
        f"/admin/users/{stranger.id}/deactivate", {"back": "/admin/users"}, form_page="/admin/users"
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(User, stranger.id).active


def test_deactivation_ends_the_sessions_of_that_account(
    app, browser, new_browser, make_account, log_in
):
    admin, worker = make_account(Role.ADMIN), make_account(Role.CASEWORKER)
    worker_browser = new_browser()
    log_in(worker_browser, worker)
    log_in(browser, admin)
    browser.post(
        f"/admin/users/{worker.id}/deactivate", {"back": "/admin/users"}, form_page="/admin/users"
    )
    assert worker_browser.get("/start/").status_code == 302


def test_recovery_codes_regeneration_needs_step_up(app, browser, make_account, log_in, clock):
    account = make_account()
    log_in(browser, account)
    clock.shift(6 * 60)
    response = browser.get("/account/recovery-codes")
    assert response.status_code == 302 and "/step-up" in response.headers["Location"]
    wrong = browser.post(response.headers["Location"], {"code": "000000"})
    assert wrong.status_code == 401
    clock.shift(30)
    ok = browser.post(response.headers["Location"], {"code": code_for(app, account)})
    assert ok.headers["Location"].endswith("/account/recovery-codes")
    page = browser.post("/account/recovery-codes")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("<li><code>") == 10


def test_the_account_list_shows_who_lacks_a_second_factor_in_one_query(
    app, browser, make_account, log_in
):
    """Whether each account has a second factor is asked of the database with the list: no
    secret is loaded (or decrypted) for it, however many accounts there are."""
    log_in(browser, make_account(Role.ADMIN))
    make_account(Role.CASEWORKER, username="utan-kod", enrolled=False)
    for _ in range(3):
        make_account(Role.CASEWORKER)
    statements: list[str] = []

    def count(_connection, _cursor, sql, *_rest):
        statements.append(sql)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = browser.get("/admin/users").get_data(as_text=True)
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", count)
    row = page.split("<td>utan-kod</td>")[1].split("</tr>")[0]
    assert "second factor not set up" in row
    assert page.count("second factor not set up") == 1  # the four enrolled accounts: not
    user_queries = [s for s in statements if "FROM users" in s and "user_sessions" not in s]
    assert len(user_queries) == 1, user_queries
    assert not any("users.totp_secret AS" in s for s in statements)


def test_only_the_host_teams_administrators_run_the_installation(app, make_account, other_orgs):
    """Given administrators of the host team and of an agency, only the host team's manage
    organisations and settings; each invites colleagues into its own organisation, the host
    team's also the first member of an active agency or partner, and nobody invites into
    another team or an inactive organisation."""
    from app.auth import permissions as p
    from app.orgs.models import Organisation

    team_admin = make_account(Role.ADMIN)
    agency_admin = make_account(Role.ADMIN, org_slug="polisen")
    caseworker = make_account(Role.CASEWORKER)
    with app.app_context():
        from app.auth.models import User

        def org(slug):
            return db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))

        team, agency, partner, other_team = (
            org("malmo-team"),
            org("polisen"),
            org("vaxjo"),
            org("annat-team"),
        )
        host, police, worker = (
            db.session.get(User, a.id) for a in (team_admin, agency_admin, caseworker)
        )
        for check in (
            p.administers_exit_team,
            p.can_manage_organisations,
            p.can_change_settings,
        ):
            assert (check(host), check(police), check(worker)) == (True, False, False), check
        assert p.can_edit_organisation(host, agency) and not p.can_edit_organisation(police, agency)
        assert p.invitable_roles(host, team) == (Role.CASEWORKER, Role.TEAM_LEAD, Role.ADMIN)
        assert p.invitable_roles(host, agency) == (Role.AGENCY_REP,)
        assert p.invitable_roles(host, partner) == (Role.PARTNER,)
        assert p.invitable_roles(host, other_team) == ()
        assert p.invitable_roles(police, agency) == (Role.AGENCY_REP, Role.ADMIN)
        assert p.invitable_roles(police, partner) == ()
        assert p.invitable_roles(worker, team) == ()
        agency.active = False
        assert p.invitable_roles(host, agency) == ()
        assert p.invitable_roles(police, agency) == ()
        db.session.rollback()
