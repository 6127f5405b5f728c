import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin


class Message(PublicIdMixin, TimestampMixin, Base):
    """A secure message between a client and the team about one request."""

    __tablename__ = "messages"

    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("client_requests.id", ondelete="CASCADE"), index=True
    )
    # The staff member who wrote it; None when the client wrote it.
    staff_author_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    from_client: Mapped[bool]
    body: Mapped[str] = mapped_column(EncryptedText)
    read_at: Mapped[datetime | None]
