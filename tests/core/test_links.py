"""Links and redirects come from configuration, never from the request's Host.

Given an attacker who sends every request with a forged Host and X-Forwarded-Host (and a
proxy in front that trusts the latter), when the portal queues mail or answers with a
redirect, then no mail, calendar file or Location header names the attacker's host, and
every link in a mail starts at BASE_URL.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.auth.models import Role, User
from app.core.outbox import OutboxMessage
from app.extensions import db
from config import ConfigurationError, Settings
from tests.consultations.test_consultations import give_consent
from tests.core.test_config import PRODUCTION as CONFIG_PRODUCTION

BASE_URL = "https://utvag.malmo.example"
FORGED = ("evil.example", "evil-proxy.example")


class ForgedHost:
    """Sits between the test client and the portal, forging the host of every request and
    keeping every Location header the portal answers with."""

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app
        self.locations: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        # A copy: the test client keeps its cookies by the host it meant to reach.
        forged = {**environ, "HTTP_HOST": FORGED[0], "HTTP_X_FORWARDED_HOST": FORGED[1]}

        def recording(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            self.locations += [value for name, value in headers if name.lower() == "location"]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(forged, recording)


@pytest.fixture
def settings(settings):
    # One trusted proxy: the portal then believes X-Forwarded-Host, as behind a balancer.
    return replace(settings, base_url=BASE_URL, trusted_proxy_count=1)


@pytest.fixture
def forged(app):
    middleware = ForgedHost(app.wsgi_app)
    app.wsgi_app = middleware
    return middleware


@pytest.fixture
def agencies(app, other_orgs):
    with app.app_context():
        from app.orgs.models import Organisation

        return {
            "polisen": db.session.scalar(
                sa.select(Organisation.id).where(Organisation.slug == "polisen")
            )
        }


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(OutboxMessage)))


def assert_nothing_forged(app, forged: ForgedHost) -> list[OutboxMessage]:
    mails = outbox(app)
    for mail in mails:
        for text in (mail.subject, mail.body, mail.calendar or ""):
            for host in FORGED:
                assert host not in text
            for link in re.findall(r"https?://\S+", text):
                assert link.startswith(BASE_URL + "/"), link
    for location in forged.locations:
        assert not any(host in location for host in FORGED), location
        assert location.startswith("/") and not location.startswith("//"), location
    return mails


def test_staff_invitations_link_to_base_url_whatever_the_host(
    app, forged, browser, make_account, log_in, organisation
):
    log_in(browser, make_account(Role.ADMIN))
    response = browser.post(
        "/admin/users/invite",
        {"organisation": str(organisation.id), "role": "admin", "email": "ny@malmo.test"},
    )
    assert response.status_code == 302
    (mail,) = assert_nothing_forged(app, forged)
    assert f"{BASE_URL}/join/" in mail.body


def test_consultation_mail_and_representative_invitations_ignore_the_host(
    app, forged, scene, agencies, make_account
):
    representative = make_account(Role.AGENCY_REP, org_slug="polisen")
    with app.app_context():
        db.session.get(User, representative.id).notify_email = "polis@example.org"
        db.session.commit()
    give_consent(app, scene, agencies["polisen"])
    response = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consultations/new",
        {
            "agencies": [str(agencies["polisen"])],
            "representatives": [str(representative.id)],
            "starts_on": (date.today() + timedelta(days=3)).isoformat(),
            "starts_time": "10:00",
            "duration": "60",
            "place": "Rum 3",
            "invite_agency": str(agencies["polisen"]),
            "invite_email": "ny.polis@example.org",
        },
        form_page=f"/team/cases/{scene.case_id}/consultations/new",
    )
    assert response.status_code == 302
    with app.app_context():
        from app.consultations.models import Consultation

        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    for action, data in (
        (
            "reschedule",
            {
                "starts_on": (date.today() + timedelta(days=4)).isoformat(),
                "starts_time": "13:30",
                "duration": "60",
                "place": "Rum 4",
            },
        ),
        ("cancel", {}),
    ):
        answer = scene.owner_browser.post(
            f"/team/consultations/{consultation_id}/{action}",
            data,
            form_page=f"/team/consultations/{consultation_id}",
        )
        assert answer.status_code == 302
    mails = assert_nothing_forged(app, forged)
    invitations = [m for m in mails if "/join/" in m.body]
    assert len(invitations) == 1 and f"{BASE_URL}/join/" in invitations[0].body
    assert sorted(m.calendar_method for m in mails if m.calendar) == [
        "CANCEL",
        "REQUEST",
        "REQUEST",
    ]


def test_the_clients_notice_ignores_the_host(
    app, forged, client_browser, fill_request, new_browser, make_account, log_in
):
    fill_request(client_browser)
    client_browser.post("/my/notifications", {"email": "trygg@example.org"})
    with app.app_context():
        from app.intake.models import ClientRequest

        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    staff = new_browser()
    log_in(staff, make_account(Role.CASEWORKER))
    staff.post(f"/inbox/{request_id}", {"body": "Vi hörs i kväll."})
    assert len(assert_nothing_forged(app, forged)) == 1


@pytest.mark.parametrize("path", ["/my", "/agency", "/partner", "/start", "/account"])
def test_redirects_to_the_trailing_slash_are_relative(app, forged, browser, path):
    response = browser.get(path)
    assert response.status_code == 308
    assert response.headers["Location"] == path + "/"
    assert_nothing_forged(app, forged)


def test_a_redirect_that_merges_slashes_keeps_its_query_and_stays_on_the_site(app, forged, browser):
    response = browser.get("/my//?next=1")
    assert response.status_code == 308
    assert response.headers["Location"] == "/my/?next=1"


def test_links_in_cli_mail_come_from_base_url_without_a_request(app):
    from app.core.urls import external_url

    with app.app_context():
        assert external_url("join.join", token="abc") == f"{BASE_URL}/join/abc"
    # A portal served under a path keeps that path in its links.
    app.config["BASE_URL"] = "https://kommun.example/utvag"
    with app.app_context():
        assert external_url("join.join", token="abc") == "https://kommun.example/utvag/join/abc"


def test_no_code_builds_a_url_from_the_request_host():
    """The next feature cannot reopen this by reaching for the request's host."""
    from pathlib import Path

    import app as package

    root = Path(package.__file__).parent
    pattern = re.compile(r"\b_external\s*=\s*True|request\.(host|host_url|url_root|root_url)\b")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in [*root.rglob("*.py"), *root.rglob("*.html")]
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


PRODUCTION = {**CONFIG_PRODUCTION, "BASE_URL": BASE_URL}


def test_production_refuses_to_start_without_base_url():
    env = {k: v for k, v in PRODUCTION.items() if k != "BASE_URL"}
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        Settings.from_env(env)
    assert Settings.from_env(PRODUCTION).base_url == BASE_URL


@pytest.mark.parametrize(
    "bad",
    [
        "http://utvag.malmo.example",
        "utvag.malmo.example",
        "https://",
        "https://a.example/?x=1",
        "https://user:pw@a.example",
        "javascript:alert(1)",
    ],
)
def test_production_refuses_a_base_url_that_is_not_an_https_address(bad):
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        Settings.from_env({**PRODUCTION, "BASE_URL": bad})


def test_development_has_a_local_base_url(tmp_path):
    env = {"UTVAG_ENV": "development", "UTVAG_INSTANCE_PATH": str(tmp_path), "PORT": "5001"}
    assert Settings.from_env(env).base_url == "http://127.0.0.1:5001"
    assert Settings.from_env({**env, "BASE_URL": "http://localhost:8000/"}).base_url == (
        "http://localhost:8000"
    )
