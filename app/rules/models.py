import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, PublicIdMixin, TimestampMixin


class Deadline(PublicIdMixin, TimestampMixin, Base):
    """A legal or practice deadline running on a request (later: on a case)."""

    __tablename__ = "deadlines"

    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("client_requests.id", ondelete="CASCADE"), index=True
    )
    rule_key: Mapped[str] = mapped_column(sa.String(64))
    # The citation in force when the clock started, kept with the deadline.
    citation: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)
    met_at: Mapped[datetime | None]
