"""Encrypted columns hold no plaintext and survive key rotation."""

from dataclasses import replace
from unittest import mock

import sqlalchemy as sa
from cryptography.fernet import Fernet

from app import create_app
from app.auth.models import User
from app.core.crypto import blind_index, keyring, rotate_all
from app.core.db import Base
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


def test_rotation_goes_in_batches_resumes_and_names_what_no_key_opens(app, settings, make_account):
    """Given values under the old key and one under a key no longer configured, rotation
    rewrites the others a few rows per transaction, names the one it cannot open, and a
    second run has nothing left to do."""
    accounts = [make_account() for _ in range(5)]
    lost_key = new_fernet_key()
    with app.app_context():
        orphan = Fernet(lost_key.encode()).encrypt(b"written under a lost key").decode()
        db.session.execute(
            sa.update(User).where(User.id == accounts[0].id)
            .values(totp_secret=sa.type_coerce(orphan, sa.Text))
        )  # fmt: skip
        db.session.commit()

    newer = new_fernet_key()
    rotated_app = create_app(replace(settings, field_encryption_keys=(newer, FIELD_KEY)))
    with rotated_app.app_context():
        batches = []
        rotation = rotate_all(db.session, Base, end_batch=lambda: batches.append(1), batch_size=2)
        db.session.commit()
    assert rotation.rewritten >= 4
    assert rotation.unreadable == [f"users.totp_secret row {accounts[0].id}"]
    assert len(batches) >= 3  # five accounts' secrets, two rows at a time

    result = rotated_app.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 1
    assert "re-encrypted 0 values" in result.output
    assert "no configured key opens users.totp_secret row" in result.output

    only_new = create_app(replace(settings, field_encryption_keys=(newer,)))
    with only_new.app_context():
        for account in accounts[1:]:
            assert db.session.get(User, account.id).totp_secret == account.secret
        db.engine.dispose()
    with rotated_app.app_context():
        db.engine.dispose()


def test_rotation_leaves_a_value_edited_meanwhile_as_it_was_written(app, settings, make_account):
    """The update names the token it read: an edit in between is never overwritten."""
    account = make_account()
    newer = new_fernet_key()
    rotated_app = create_app(replace(settings, field_encryption_keys=(newer, FIELD_KEY)))
    with rotated_app.app_context():

        def someone_edits() -> None:
            with rotated_app.app_context():
                other = db.session.get(User, account.id)
                other.totp_secret = "EDITEDWHILEROTATING"
                db.session.commit()

        # The edit lands between the read and the write of the first batch.
        original_rotate = keyring().rotate

        def rotate_after_an_edit(token: str) -> str:
            someone_edits()
            return original_rotate(token)

        with mock.patch.object(type(keyring()), "rotate", lambda self, t: rotate_after_an_edit(t)):
            rotate_all(db.session, Base, end_batch=db.session.commit)
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(User, account.id).totp_secret == "EDITEDWHILEROTATING"
        db.engine.dispose()
