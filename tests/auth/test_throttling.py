"""Throttling per account and per address, for known and unknown usernames alike."""

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent, SecurityTally
from app.extensions import db
from tests.conftest import LIMIT_STORAGES, Browser, limited_app


@pytest.fixture(params=LIMIT_STORAGES)
def strict_app(request, settings):
    """Small limits; counted in memory, and in Redis (shared by instances) when available."""
    with limited_app(
        settings,
        request.param,
        login_limit_per_account="3 per 15 minutes",
        login_limit_per_address="5 per 15 minutes",
    ) as app:
        yield app


def attempt(browser, username, address="198.51.100.7"):
    return browser.post(
        "/login",
        {"username": username, "password": "wrong-password"},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.mark.parametrize("known", [True, False], ids=["known-user", "unknown-user"])
def test_an_account_is_throttled_after_repeated_failures(strict_app, known):
    """Given three failures for one username from different addresses, the fourth is refused."""
    browser = Browser(strict_app.test_client())
    username = "someone"
    if known:
        with strict_app.app_context():
            from app.auth.models import Role
            from app.auth.services import create_user
            from app.orgs.models import OrgKind
            from app.orgs.services import create_organisation

            org = create_organisation("team-x", "Team X", OrgKind.EXIT_TEAM)
            create_user(username, "lugna-tallar-vid-havet", Role.CASEWORKER, org)
            db.session.commit()
    statuses = [attempt(browser, username, f"198.51.100.{n}").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    throttled = attempt(browser, username, "198.51.100.99")
    assert throttled.status_code == 429
    assert "Too many attempts" in throttled.get_data(as_text=True)
    # Another account from a fresh address is not affected.
    assert attempt(browser, "someone-else", "198.51.100.50").status_code == 401
    with strict_app.app_context():
        # Counted for the access review, not chained one event each.
        assert (
            db.session.scalar(
                sa.select(sa.func.sum(SecurityTally.count)).where(SecurityTally.kind == "throttled")
            )
            == 2
        )
        assert not db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "throttled")
        )


def test_an_address_is_throttled_across_usernames(strict_app):
    browser = Browser(strict_app.test_client())
    statuses = [attempt(browser, f"user{n}").status_code for n in range(6)]
    assert statuses == [401] * 5 + [429]


def test_totp_guessing_is_throttled(strict_app):
    with strict_app.app_context():
        from app.auth.models import Role
        from app.auth.services import create_user
        from app.auth.totp import new_secret
        from app.orgs.models import OrgKind
        from app.orgs.services import create_organisation

        org = create_organisation("team-y", "Team Y", OrgKind.EXIT_TEAM)
        create_user(
            "guessed", "lugna-tallar-vid-havet", Role.CASEWORKER, org, totp_secret=new_secret()
        )
        db.session.commit()
    browser = Browser(strict_app.test_client())
    browser.post("/login", {"username": "guessed", "password": "lugna-tallar-vid-havet"})
    statuses = [browser.post("/login/code", {"code": f"{n:06d}"}).status_code for n in range(7)]
    assert statuses[-1] == 429
    assert set(statuses[:6]) == {401}


def test_registration_is_throttled_per_address(strict_app):
    browser = Browser(strict_app.test_client())
    statuses = [
        browser.post(
            "/my/register",
            {"username": f"ny-{n}", "password": "x", "confirm_password": "x"},
            environ_base={"REMOTE_ADDR": "203.0.113.5"},
        ).status_code
        for n in range(11)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429


def test_throttling_counts_per_process_while_redis_does_not_answer(settings):
    """Given a shared store that is down, logins are answered (never a 500) and failures
    are still counted, in the process, until the store answers again."""
    unreachable = "redis://127.0.0.1:1/0"
    with limited_app(settings, unreachable, login_limit_per_account="3 per 15 minutes") as app:
        browser = Browser(app.test_client())
        statuses = [attempt(browser, "someone", f"198.51.100.{n}").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
