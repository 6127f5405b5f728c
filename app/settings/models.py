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
