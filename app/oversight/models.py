import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin


class AccessReview(PublicIdMixin, TimestampMixin, Base):
    """A team lead's documented review of one month of the access log (GDPR art. 32)."""

    __tablename__ = "access_reviews"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "period"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    period: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    findings: Mapped[str] = mapped_column(EncryptedText)
    chain_intact: Mapped[bool]
