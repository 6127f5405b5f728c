import functools
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class SiteSetting(Base):
    """One administrator's choice that overrides a default from configuration or rules.toml.

    Only keys named in app/settings/services.py are ever read, and values are JSON checked
    by that module's forms: the table holds choices, never code or free configuration.
    """

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


# Where a request keeps the settings read together with its session (see settings_snapshot).
SNAPSHOT_KEY = "site_settings_snapshot"
# Between a key and its value, and between two settings: JSON text never holds these
# control characters unescaped, and keys are identifiers.
KEY_END = "\x1f"
SETTING_END = "\x1e"


@functools.cache  # an expression, the same for every request: built once
def settings_snapshot() -> sa.ScalarSelect[str | None]:
    """Every saved setting as one text value (None when there are none), to be read in the
    same query as something else: the session of a request reads the settings with it, so
    a page pays no round trip of its own for them, and a change is seen by the next request
    on every instance, since there is no copy to invalidate."""
    return sa.select(
        sa.func.aggregate_strings(SiteSetting.key + KEY_END + SiteSetting.value, SETTING_END)
    ).scalar_subquery()
