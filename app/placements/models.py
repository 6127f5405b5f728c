"""Relocation placements: need-to-know requests to partners, offers, one confirmation."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import as_utc, utcnow
from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled
from app.orgs.models import Organisation

PARTNER_SERVICES = ("housing", "supported_housing", "addiction_care", "school", "support_staff")


class PartnerProfile(TimestampMixin, Base):
    """What a partner offers and how much room it has; the partner keeps it up to date."""

    __tablename__ = "partner_profiles"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    # The code of the partner's municipality (app/rules/municipalities.toml). Not secret: it
    # is where the partner is, not where a person is. Sized for text kept from before the
    # list, which the conflict check refuses to call safe until a code replaces it.
    municipality: Mapped[str] = mapped_column(sa.String(100), index=True)
    region: Mapped[str] = mapped_column(sa.String(100))
    services: Mapped[str] = mapped_column(sa.String(200), default="")  # comma-separated codes
    capacity: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class PlacementStatus(LabelledEnum):
    OPEN = "open"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"

    __labels__ = labelled(
        {
            OPEN: _l("Open"),
            CONFIRMED: _l("Confirmed"),
            CANCELLED: _l("Cancelled"),
        }
    )


class RequestStatus(LabelledEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CLOSED = "closed"
    CONFIRMED = "confirmed"

    __labels__ = labelled(
        {
            SENT: _l("Waiting for an answer"),
            ACCEPTED: _l("Offer made"),
            DECLINED: _l("Declined"),
            EXPIRED: _l("Expired"),
            CLOSED: _l("Closed: another offer was chosen"),
            CONFIRMED: _l("Confirmed"),
        }
    )


class FollowUp(LabelledEnum):
    PLANNED = "planned"
    MOVED_IN = "moved_in"
    ESTABLISHED = "established"
    ENDED = "ended"

    __labels__ = labelled(
        {
            PLANNED: _l("Planned"),
            MOVED_IN: _l("Moved in"),
            ESTABLISHED: _l("Established"),
            ENDED: _l("Ended"),
        }
    )


class Placement(PublicIdMixin, TimestampMixin, Base):
    """What the team asks partners for. Nothing here names the person or where they are from."""

    __tablename__ = "placements"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[PlacementStatus] = mapped_column(text_enum(PlacementStatus), index=True)
    adults: Mapped[int]
    children_ages: Mapped[str] = mapped_column(EncryptedText, default="")
    housing_needs: Mapped[str | None] = mapped_column(EncryptedText)
    support_needs: Mapped[str | None] = mapped_column(EncryptedText)
    earliest_move_on: Mapped[date]
    # The services asked for (codes of PARTNER_SERVICES, comma-separated). Encrypted: that
    # someone needs addiction care or support staff is about the person, not the partner.
    # Empty (None) for requests made before the services were asked.
    services: Mapped[str | None] = mapped_column(EncryptedText)
    expected_duration: Mapped[str | None] = mapped_column(EncryptedText)
    free_text: Mapped[str | None] = mapped_column(EncryptedText)
    # A conflict overridden by a team lead: who, why (encrypted), flagged for review.
    override_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    override_reason: Mapped[str | None] = mapped_column(EncryptedText)

    requests: Mapped[list["PlacementRequest"]] = relationship(
        back_populates="placement", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def service_codes(self) -> list[str]:
        return [s for s in (self.services or "").split(",") if s]

    @property
    def household_size(self) -> int:
        """Adults and children: how many people the partner is asked to house."""
        children = [a for a in (self.children_ages or "").split(",") if a.strip()]
        return self.adults + len(children)


class PlacementRequest(PublicIdMixin, TimestampMixin, Base):
    """One partner's copy of a placement request, its answer, and what follows."""

    __tablename__ = "placement_requests"
    # One copy per partner: the database, not only the page, refuses a second send of the
    # same request to the same partner (two caseworkers, or two tabs, at the same moment).
    __table_args__ = (sa.UniqueConstraint("placement_id", "partner_id"),)

    placement_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("placements.id", ondelete="CASCADE"), index=True
    )
    placement: Mapped[Placement] = relationship(back_populates="requests")
    partner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    partner: Mapped[Organisation] = relationship(lazy="joined")
    status: Mapped[RequestStatus] = mapped_column(text_enum(RequestStatus), index=True)
    respond_by: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(EncryptedText)
    offer_housing_type: Mapped[str | None] = mapped_column(EncryptedText)
    offer_move_in_on: Mapped[date | None]
    offer_contact: Mapped[str | None] = mapped_column(EncryptedText)
    handed_over_at: Mapped[datetime | None]
    follow_up: Mapped[FollowUp | None] = mapped_column(text_enum(FollowUp))
    report: Mapped[str | None] = mapped_column(EncryptedText)

    @property
    def shown_status(self) -> RequestStatus:
        """The status as of now: a request past its deadline without an answer reads as
        expired at once, although the daily `flask placements remind` writes it down.
        Reading a page changes nothing, so the expiry is computed here, not stored by it."""
        if self.status is RequestStatus.SENT and as_utc(self.respond_by) <= utcnow():
            return RequestStatus.EXPIRED
        return self.status
