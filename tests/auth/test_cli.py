"""Operator commands: bootstrap the first administrator, organisations, demo data."""

import pyotp
import sqlalchemy as sa

from app.auth.models import Role, User
from app.extensions import db


def test_users_create_reads_the_password_from_stdin_and_prints_the_otpauth_uri(app):
    runner = app.test_cli_runner()
    assert (
        runner.invoke(
            args=["orgs", "create", "kommun-x", "--name", "Kommun X", "--kind", "exit_team"]
        ).exit_code
        == 0
    )
    result = runner.invoke(
        args=["users", "create", "first-admin", "--role", "admin", "--org", "kommun-x"],
        input="tre-lugna-ord-i-natten\n",
    )
    assert result.exit_code == 0, result.output
    uri = result.output.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/")
    secret = pyotp.parse_uri(uri).secret
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "first-admin"))
        assert user.role is Role.ADMIN
        assert user.totp_secret == secret
    assert "tre-lugna-ord-i-natten" not in result.output


def test_users_create_refuses_a_weak_password(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["orgs", "create", "kommun-y", "--name", "Kommun Y", "--kind", "exit_team"])
    result = runner.invoke(
        args=["users", "create", "weak", "--role", "caseworker", "--org", "kommun-y"],
        input="password1\n",
    )
    assert result.exit_code != 0
    assert "password refused" in result.output


def test_staff_need_an_organisation(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "lonely", "--role", "caseworker"], input="tre-lugna-ord-i-natten\n"
    )
    assert result.exit_code != 0
    assert "organisation" in result.output


def test_demo_data_is_refused_outside_development(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code != 0
    assert "development" in result.output


def test_demo_seed_is_safe_to_run_twice(app, settings):
    from dataclasses import replace

    from app import create_app

    dev = create_app(replace(settings, demo_data=True))
    runner = dev.test_cli_runner()
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    with dev.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 6
        db.engine.dispose()


def test_operators_list_organisations_and_staff_but_only_count_clients(app, make_account):
    worker = make_account(Role.CASEWORKER)
    client = make_account(Role.CLIENT)
    runner = app.test_cli_runner()

    orgs = runner.invoke(args=["orgs", "list"])
    assert orgs.exit_code == 0
    assert any(
        line.split("\t")[1:3] == ["exit_team", "active"] for line in orgs.output.splitlines()
    )

    users = runner.invoke(args=["users", "list"])
    assert users.exit_code == 0, users.output
    rows = {line.split("\t")[0]: line.split("\t") for line in users.output.splitlines()[:-1]}
    assert rows[worker.username][1] == "caseworker"
    assert rows[worker.username][3:5] == ["active", "2fa"]
    assert client.username not in users.output
    assert users.output.splitlines()[-1] == "client accounts: 1"
    with app.app_context():
        from app.audit.models import AuditEvent

        assert (
            db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "users.listed"))
            == 1
        )
