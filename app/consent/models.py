import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled
from app.orgs.models import Organisation


class Purpose(LabelledEnum):
    CONSULTATION = "consultation"
    PLACEMENT = "placement"
    INFORMATION_EXCHANGE = "information_exchange"
    REOFFENDING_FOLLOW_UP = "reoffending_follow_up"

    __labels__ = labelled(
        {
            CONSULTATION: _l("Consultation"),
            PLACEMENT: _l("Placement"),
            INFORMATION_EXCHANGE: _l("Information exchange"),
            REOFFENDING_FOLLOW_UP: _l("Follow-up of reoffending"),
        }
    )
    __client_labels__ = labelled(
        {
            CONSULTATION: _l("Meetings where the agencies plan your support together"),
            PLACEMENT: _l("Finding a safe place to live in another municipality"),
            INFORMATION_EXCHANGE: _l("Sharing information between the agencies that help you"),
            REOFFENDING_FOLLOW_UP: _l("Following up whether you are suspected of new crimes"),
        }
    )


class ConsentMethod(LabelledEnum):
    PAPER = "paper"
    DIGITAL = "digital"

    __labels__ = labelled(
        {
            PAPER: _l("on paper"),
            DIGITAL: _l("digitally"),
        }
    )


consent_agencies = sa.Table(
    "consent_agencies",
    Base.metadata,
    sa.Column("consent_id", sa.ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("organisation_id", sa.ForeignKey("organisations.id"), primary_key=True),
)


class Consent(PublicIdMixin, TimestampMixin, Base):
    """One decision by the client: to these agencies, for these purposes, given or refused.

    A digital consent is created as a pending proposal by the caseworker and becomes
    given (or refused) only when the client confirms it in their portal with a TOTP code.
    """

    __tablename__ = "consents"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    purposes: Mapped[str] = mapped_column(sa.String(200))  # comma-separated Purpose values
    method: Mapped[ConsentMethod] = mapped_column(text_enum(ConsentMethod, 10))
    # None while a digital consent awaits the client's answer.
    given: Mapped[bool | None]
    answered_at: Mapped[datetime | None]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    withdrawn_at: Mapped[datetime | None]
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    language: Mapped[str | None] = mapped_column(sa.String(8))
    agencies: Mapped[list[Organisation]] = relationship(secondary=consent_agencies, lazy="selectin")

    @property
    def purpose_set(self) -> set["Purpose"]:
        return {Purpose(p) for p in self.purposes.split(",") if p}


class Disclosure(PublicIdMixin, TimestampMixin, Base):
    """What was shared about a case, with whom, and on which ground.

    The values go with it, field by field (`fields`): the recipient reads this frozen
    snapshot, never the live case, so a later change reaches them only as a new disclosure.
    """

    __tablename__ = "disclosures"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    what: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.String(40))
    consent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("consents.id", ondelete="SET NULL")
    )
    # A named secrecy-breaking provision, when the ground is the law rather than consent.
    legal_ground: Mapped[str | None] = mapped_column(sa.String(200))
    disclosed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    recipient: Mapped[Organisation] = relationship(lazy="joined")
    consent: Mapped[Consent | None] = relationship(lazy="joined")
    disclosed_by: Mapped[User | None] = relationship(lazy="joined")
    fields: Mapped[list["DisclosedField"]] = relationship(
        back_populates="disclosure",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="DisclosedField.position",
    )

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def value(self, name: str) -> str | None:
        return next((f.value for f in self.fields if f.name == name), None)


class DisclosedField(PublicIdMixin, Base):
    """One field handed over in a disclosure, with its value as it was at that moment."""

    __tablename__ = "disclosed_fields"
    __table_args__ = (sa.UniqueConstraint("disclosure_id", "name"),)

    disclosure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("disclosures.id", ondelete="CASCADE"), index=True
    )
    disclosure: Mapped[Disclosure] = relationship(back_populates="fields")
    # A field code: "full_name", "personal_number", "phone", "threat_level", "need:<code>".
    name: Mapped[str] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    # None when the case held nothing in that field when it was disclosed.
    value: Mapped[str | None] = mapped_column(EncryptedText)
