"""Once means once, under concurrency: a draft, a join link and a consent answer are each
consumed by one guarded statement, and N parallel attempts give exactly one success.

Each race sends N requests from N separate clients that carry the same cookie (a double
click, two tabs, two app instances behind a load balancer) and releases them together with
a barrier. The races run on PostgreSQL (where the guarded statement's row count is what
decides) and on SQLite (where writers take turns and the row count still decides).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.consultations.services import new_account_invitation
from app.extensions import db
from app.intake.models import ClientRequest, RequestDraft
from app.orgs.models import Organisation
from tests.conftest import STEPS, Browser

N = 6


def same_browser(app: Flask, browser: Browser) -> FlaskClient:
    """A separate client that sends the same cookie as `browser` (another tab, a double click)."""
    client = app.test_client()
    client.environ_base.update(browser.client.environ_base)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = browser.client.get_cookie(name)
    if cookie is not None:
        client.set_cookie(name, cookie.value)
    return client


def race(attempts: list[Callable[[], Any]]) -> list[Any]:
    """Run the attempts in parallel threads released together; return their results."""
    barrier = threading.Barrier(len(attempts))
    results: list[Any] = [None] * len(attempts)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = attempts[index]()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads)
    return results


def audit_count(app: Flask, action: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action)
            )
        )


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)))


# Draft submission ------------------------------------------------------------------------------


def fill_steps(browser: Browser) -> None:
    for step in ("kind", "help", "contact", "identity", "story"):
        response = browser.post(f"/my/request/{step}", STEPS[step])
        assert response.status_code == 302, step


def test_a_request_sent_n_times_at_once_is_stored_once(app, client_browser):
    """Given a complete draft, when N clicks of "Send" with the same cookie and token arrive
    together, then one request is stored, every click lands on its status page, and the
    audit trail says "submitted" once."""
    fill_steps(client_browser)
    client_browser.get("/my/request/review")
    csrf = client_browser.last_csrf
    clients = [same_browser(app, client_browser) for _ in range(N)]

    responses = race(
        [lambda c=c: c.post("/my/request/review", data={"csrf_token": csrf}) for c in clients]
    )

    assert [r.status_code for r in responses] == [302] * N
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    assert {r.headers.get("Location") for r in responses} == {f"/my/requests/{request_id}"}
    assert count(app, RequestDraft) == 0
    assert audit_count(app, "request.submitted") == 1
    # The click that lost is shown the request the first one made, as received.
    page = clients[-1].get(f"/my/requests/{request_id}").get_data(as_text=True)
    assert "Thank you. We have received your request." in page


def test_sending_again_after_the_request_was_stored_shows_it_and_stores_nothing(
    app, client_browser, fill_request
):
    first = fill_request(client_browser)
    again = client_browser.post("/my/request/review", {})
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert count(app, ClientRequest) == 1
    assert audit_count(app, "request.submitted") == 1


def test_a_draft_that_changed_to_incomplete_is_kept_whole(app, client_browser, monkeypatch):
    """The draft is checked when read and again when taken; if another tab made it
    incomplete in between, the refusal puts it back as it was."""
    from app.intake import services

    fill_steps(client_browser)
    checks = []
    real_check = services._check_complete

    def check_then_tab_changes_it(data):
        checks.append(1)
        if len(checks) == 2:
            raise services.IntakeError("person")
        real_check(data)

    monkeypatch.setattr(services, "_check_complete", check_then_tab_changes_it)
    response = client_browser.post("/my/request/review", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/person")
    assert count(app, ClientRequest) == 0
    assert count(app, RequestDraft) == 1
    with app.app_context():
        from app.auth.models import User

        client = db.session.scalars(sa.select(User)).one()
        assert services.load_draft(client)["kind"] == "defector"


# Join and invitation links -----------------------------------------------------------------------

NEW_PASSWORD = "tre-lugna-ord-i-natten"


@pytest.mark.parametrize(
    ("role", "org_slug"),
    [(Role.AGENCY_REP, "polisen"), (Role.CASEWORKER, "malmo-team")],
    ids=["representative", "staff"],
)
def test_a_join_link_used_n_times_at_once_makes_one_account(
    app, organisation, other_orgs, make_account, new_browser, role, org_slug
):
    """Given a representative's (or an administrator's staff) invitation, when N requests
    with its link and the same cookie arrive together, then one account is made and the
    others are sent to log in."""
    inviter = make_account(Role.ADMIN if role is Role.CASEWORKER else Role.CASEWORKER)
    with app.app_context():
        org = db.session.scalars(sa.select(Organisation).where(Organisation.slug == org_slug)).one()
        _invitation, token = new_account_invitation(
            org, "ny@example.org", db.session.get(User, inviter.id), role
        )
        db.session.commit()
    newcomer = new_browser()
    assert newcomer.get(f"/join/{token}").status_code == 200
    csrf = newcomer.last_csrf
    clients = [same_browser(app, newcomer) for _ in range(N)]

    def join(index: int, client: FlaskClient | None = None) -> Any:
        return (client or clients[index]).post(
            f"/join/{token}",
            data={
                "csrf_token": csrf,
                "username": f"ny-person-{index}",
                "password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
        )

    responses = race([lambda i=i: join(i) for i in range(N)])

    assert sorted(r.headers.get("Location", str(r.status_code)) for r in responses) == sorted(
        ["/login/enrol"] + ["/login"] * (N - 1)
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(User.role == role)) == 1
    assert audit_count(app, "representative.joined") == 1
    # A click that comes after the first one finished (sent with the cookie of before) is
    # answered the same way.
    assert join(0, same_browser(app, newcomer)).headers.get("Location") == "/login"
    assert new_browser().get(f"/join/{token}").status_code == 404


def test_a_refused_join_leaves_the_link_usable(app, organisation, other_orgs, make_account):
    from tests.conftest import Browser

    inviter = make_account(Role.CASEWORKER)
    with app.app_context():
        org = db.session.scalars(
            sa.select(Organisation).where(Organisation.slug == "polisen")
        ).one()
        _invitation, token = new_account_invitation(
            org, "ny@example.org", db.session.get(User, inviter.id), Role.AGENCY_REP
        )
        db.session.commit()
    browser = Browser(app.test_client())
    weak = {"username": "ny-polis", "password": "password123", "confirm_password": "password123"}
    assert browser.post(f"/join/{token}", weak).status_code == 400
    strong = {"username": "ny-polis", "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    joined = browser.post(f"/join/{token}", strong)
    assert joined.headers["Location"] == "/login/enrol"


# A client's answer to a digital consent -----------------------------------------------------------


def test_a_consent_answered_n_times_at_once_takes_the_first_answer_only(
    app, scene, other_orgs, client_browser, monkeypatch
):
    """Given a consent proposed digitally, when N answers (yes and no, as from two tabs) with
    the client's cookie arrive together, then one answer takes effect and is recorded, and
    every request is sent back to the client's page without an error.

    The code each answer carries is accepted here: that one code cannot confirm two answers
    is the second factor's own guarantee, tested with it; this test is about the consent."""
    from app.auth import services as auth_services
    from app.cases.models import Case
    from app.consent.models import Consent, ConsentMethod, Purpose
    from app.consent.services import record_consent

    with app.app_context():
        agency = db.session.scalars(sa.select(Organisation).where(Organisation.slug == "polisen"))
        consent = record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[agency.one()],
            purposes={Purpose.CONSULTATION},
            method=ConsentMethod.DIGITAL,
            given=True,
            valid_from=date(2026, 1, 1),
            valid_until=None,
        )
        db.session.commit()
        consent_id = consent.id
    monkeypatch.setattr(auth_services, "confirm_with_code", lambda *args, **kwargs: None)
    client_browser.get(f"/my/consents/{consent_id}")
    csrf = client_browser.last_csrf
    clients = [same_browser(app, client_browser) for _ in range(N)]
    answers = ["yes", "no"] * (N // 2)

    responses = race(
        [
            lambda c=c, a=a: c.post(
                f"/my/consents/{consent_id}",
                data={"csrf_token": csrf, "answer": a, "code": "123456"},
            )
            for c, a in zip(clients, answers, strict=True)
        ]
    )

    assert [(r.status_code, r.headers.get("Location")) for r in responses] == [(302, "/my/")] * N
    with app.app_context():
        given = db.session.get(Consent, consent_id).given
        events = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "consent.answered")
        ).all()
    assert given is not None
    assert [json.loads(details)["given"] for details in events] == [given]
    # A click that comes after the first one finished is answered the same way.
    late_client = same_browser(app, client_browser)
    late = late_client.post(
        f"/my/consents/{consent_id}", data={"csrf_token": csrf, "answer": "no", "code": "123456"}
    )
    assert (late.status_code, late.headers.get("Location")) == (302, "/my/")
    assert "You have answered this already." in late_client.get("/my/").get_data(as_text=True)


# Registration -------------------------------------------------------------------------------------


def test_a_registration_sent_n_times_at_once_makes_one_account(app, browser, organisation):
    """Given the registration form, when it is sent N times at once with the same cookie and
    token (a double click), then one account is made and every request continues to the
    enrolment of that account: no error, no second account."""
    page = browser.get("/my/register").get_data(as_text=True)
    shown = re.search(r'id="username"[^>]* value="([^"]+)"', page).group(1)
    clients = [same_browser(app, browser) for _ in range(N)]
    # What a browser sends: the shown (read-only) name comes along and is ignored.
    form = {
        "csrf_token": browser.last_csrf,
        "username": shown,
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }

    responses = race([lambda c=c: c.post("/my/register", data=form) for c in clients])

    assert [(r.status_code, r.headers.get("Location")) for r in responses] == [
        (302, "/login/enrol")
    ] * N
    assert count(app, User) == 1
    assert audit_count(app, "client.registered") == 1
    assert audit_count(app, "client.registration_repeated") == N - 1
    # Whichever answer the browser kept, it is on its way to enrol that one account.
    with app.app_context():
        username = db.session.scalars(sa.select(User.username)).one()
    for client in clients:
        assert f'<code dir="ltr">{username}</code>' in client.get("/login/enrol").get_data(
            as_text=True
        )


def test_people_registering_at_once_under_one_shown_name_all_get_accounts(
    app, organisation, new_browser, monkeypatch
):
    """Given N people who were all shown the same name (forced here; one in billions in
    life), when they register at once, then each gets an account of their own under a
    distinct name, and none gets an error."""
    from app.intake import services

    real = services.suggest_username
    shown = iter(["bcd-fgh-jkm"] * N)
    lock = threading.Lock()

    def same_name_first() -> str:
        with lock:
            return next(shown, None) or real()

    monkeypatch.setattr(services, "suggest_username", same_name_first)
    browsers = [new_browser() for _ in range(N)]
    for person in browsers:
        person.get("/my/register")
    forms = [
        {
            "csrf_token": b.last_csrf,
            "username": "bcd-fgh-jkm",
            "password": f"{NEW_PASSWORD}-{i}",
            "confirm_password": f"{NEW_PASSWORD}-{i}",
        }
        for i, b in enumerate(browsers)
    ]

    responses = race(
        [
            lambda b=b, f=f: b.client.post("/my/register", data=f)
            for b, f in zip(browsers, forms, strict=True)
        ]
    )

    assert [r.status_code for r in responses] == [302] * N
    with app.app_context():
        names = db.session.scalars(sa.select(User.username)).all()
    assert len(set(names)) == N and "bcd-fgh-jkm" in names
    assert audit_count(app, "client.registered") == N


def test_a_consent_withdrawn_n_times_at_once_is_withdrawn_once(app, scene, other_orgs):
    """Given a consent in force, when N clicks of "Withdraw" with the caseworker's cookie
    arrive together, then it is withdrawn once, recorded once, at the first moment."""
    from app.cases.models import Case
    from app.consent.models import Consent, ConsentMethod, Purpose
    from app.consent.services import record_consent

    with app.app_context():
        agency = db.session.scalars(sa.select(Organisation).where(Organisation.slug == "polisen"))
        consent = record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[agency.one()],
            purposes={Purpose.CONSULTATION},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=date(2026, 1, 1),
            valid_until=None,
        )
        db.session.commit()
        consent_id = consent.id
    case_page = f"/team/cases/{scene.case_id}"
    scene.owner_browser.get(case_page)
    csrf = scene.owner_browser.last_csrf
    clicks = [same_browser(app, scene.owner_browser) for _ in range(N)]

    responses = race(
        [
            lambda c=c: c.post(
                f"{case_page}/consents/{consent_id}/withdraw", data={"csrf_token": csrf}
            )
            for c in clicks
        ]
    )

    assert {r.status_code for r in responses} == {302}
    with app.app_context():
        withdrawals = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "consent.withdrawn")
        )
        assert db.session.get(Consent, consent_id).withdrawn_at is not None
    assert withdrawals == 1
