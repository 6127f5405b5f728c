import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled


class OrgKind(LabelledEnum):
    EXIT_TEAM = "exit_team"
    AGENCY = "agency"
    PARTNER = "partner"

    __labels__ = labelled(
        {
            EXIT_TEAM: _l("Exit team"),
            AGENCY: _l("Agency"),
            PARTNER: _l("Relocation partner"),
        }
    )


class Organisation(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "organisations"

    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrgKind] = mapped_column(text_enum(OrgKind))
    active: Mapped[bool] = mapped_column(default=True)
    # An agency's functional mailbox, for invitations when no representative is named.
    mailbox: Mapped[str | None] = mapped_column(sa.String(200))

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"
