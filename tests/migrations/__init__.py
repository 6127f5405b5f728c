from pathlib import Path

from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parents[2] / "app" / "migrations"


def before(revision: str) -> str:
    """The revision a migration applies to: a data migration's test starts there."""
    parent = ScriptDirectory(str(MIGRATIONS)).get_revision(revision).down_revision
    assert isinstance(parent, str)
    return parent
