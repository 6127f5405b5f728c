"""Encrypted columns hold no plaintext and survive key rotation."""

from dataclasses import replace

import sqlalchemy as sa

from app import create_app
from app.auth.models import User
from app.core.crypto import blind_index
from app.extensions import db
from config import new_fernet_key
from tests.conftest import FIELD_KEY


def raw_secret(app, user_id):
    with app.app_context():
        return db.session.execute(
            sa.text("SELECT totp_secret FROM users WHERE id = :id"),
            {"id": user_id if db.engine.dialect.name == "postgresql" else user_id.hex},
        ).scalar_one()


def test_the_database_holds_no_plaintext_secret(app, make_account):
    account = make_account()
    stored = raw_secret(app, account.id)
    assert stored and account.secret not in stored
    with app.app_context():
        assert db.session.get(User, account.id).totp_secret == account.secret


def test_a_whole_table_dump_does_not_reveal_the_secret(app, make_account):
    account = make_account()
    with app.app_context():
        dump = repr(db.session.execute(sa.text("SELECT * FROM users")).all())
    assert account.secret not in dump


def test_values_survive_key_rotation(app, settings, make_account):
    account = make_account()
    before = raw_secret(app, account.id)

    newer = new_fernet_key()
    rotated_app = create_app(replace(settings, field_encryption_keys=(newer, FIELD_KEY)))
    result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    after = raw_secret(rotated_app, account.id)
    assert after != before

    only_new = create_app(replace(settings, field_encryption_keys=(newer,)))
    with only_new.app_context():
        assert db.session.get(User, account.id).totp_secret == account.secret
        db.engine.dispose()
    with rotated_app.app_context():
        db.engine.dispose()


def test_blind_index_is_keyed_normalised_and_purpose_bound(app, settings):
    with app.app_context():
        a = blind_index(" 19900101-1234 ", "pin")
        assert a == blind_index("19900101-1234", "pin")
        assert a != blind_index("19900101-1234", "phone")
    other = create_app(replace(settings, blind_index_key="another-key"))
    with other.app_context():
        assert blind_index("19900101-1234", "pin") != a
        db.engine.dispose()
