import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin


class AccessibilityFeedback(PublicIdMixin, TimestampMixin, Base):
    """A problem someone reported through the accessibility statement's form.

    Anyone may send one, and people write what they write (a name, an address to answer,
    their situation): both texts are encrypted like every other free text.
    """

    __tablename__ = "accessibility_feedback"

    language: Mapped[str] = mapped_column(sa.String(8))
    message: Mapped[str] = mapped_column(EncryptedText)
    reply_to: Mapped[str | None] = mapped_column(EncryptedText)
