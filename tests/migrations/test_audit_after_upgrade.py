"""A database written by the previous release, upgraded to this one, still proves its
audit trail: `flask audit verify` passes, and the chain goes on from where it was."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade

from app.audit.services import record
from app.extensions import db

PREVIOUS_RELEASE = "0011_case_list_indexes"


def test_the_audit_trail_of_an_upgraded_database_verifies(app):
    with app.app_context():
        downgrade(revision=PREVIOUS_RELEASE)
        for n in range(5):
            record("test.before_upgrade", details={"n": n})
        db.session.commit()
        db.session.remove()

        upgrade()
        record("test.after_upgrade")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
