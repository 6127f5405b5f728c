"""Consultations: the agencies a case needs, meeting around it, and the actions they take."""

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import Role, User
from app.consent.models import Disclosure
from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled
from app.orgs.models import Organisation


class ConsultationStatus(LabelledEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"

    __labels__ = labelled(
        {
            PLANNED: _l("Planned"),
            HELD: _l("Held"),
            CANCELLED: _l("Cancelled"),
        }
    )


class Response(LabelledEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    PROPOSED = "proposed"

    __labels__ = labelled(
        {
            PENDING: _l("Not answered"),
            ACCEPTED: _l("Accepted"),
            DECLINED: _l("Declined"),
            PROPOSED: _l("Proposed another time"),
        }
    )


class ActionStatus(LabelledEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    __labels__ = labelled(
        {
            OPEN: _l("Open"),
            IN_PROGRESS: _l("In progress"),
            DONE: _l("Done"),
            CANCELLED: _l("Cancelled"),
        }
    )


class Consultation(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "consultations"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    previous_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="SET NULL")
    )
    convened_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[ConsultationStatus] = mapped_column(text_enum(ConsultationStatus), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int]
    place: Mapped[str] = mapped_column(EncryptedText)
    agenda: Mapped[str | None] = mapped_column(EncryptedText)
    minutes: Mapped[str | None] = mapped_column(EncryptedText)
    # iCalendar identity: the UID never changes; SEQUENCE grows with every reschedule.
    ical_uid: Mapped[str] = mapped_column(sa.String(100), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)

    invitations: Mapped[list["Invitation"]] = relationship(
        back_populates="consultation", cascade="all, delete-orphan", lazy="selectin"
    )


class Invitation(PublicIdMixin, TimestampMixin, Base):
    """One agency, and the representative who speaks for it, invited to a consultation."""

    __tablename__ = "consultation_invitations"
    __table_args__ = (sa.UniqueConstraint("consultation_id", "organisation_id", "user_id"),)

    consultation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    consultation: Mapped[Consultation] = relationship(back_populates="invitations")
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    user: Mapped[User | None] = relationship(lazy="joined")
    response: Mapped[Response] = mapped_column(text_enum(Response), default=Response.PENDING)
    proposed_starts_at: Mapped[datetime | None]
    attended: Mapped[bool | None]


class Decision(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "consultation_decisions"

    consultation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(EncryptedText)


class Action(PublicIdMixin, TimestampMixin, Base):
    """Something an agency undertook at a consultation, followed to its end."""

    __tablename__ = "consultation_actions"

    consultation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    # Every action says which consultation it came from, wherever it is listed.
    consultation: Mapped[Consultation] = relationship(lazy="joined")
    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    owner_organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    owner_organisation: Mapped[Organisation] = relationship(lazy="joined")
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(EncryptedText)
    due_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[ActionStatus] = mapped_column(text_enum(ActionStatus), default=ActionStatus.OPEN)
    outcome: Mapped[str | None] = mapped_column(EncryptedText)
    # When it was marked done: whether actions are done on time is part of the evaluation.
    done_at: Mapped[datetime | None]


class MinutesShare(PublicIdMixin, TimestampMixin, Base):
    """Minutes and decisions of a consultation, as given to one invited agency.

    The words themselves are in the disclosure, frozen field by field ("minutes",
    "decision:1", …) and resting on the client's consent to consult with that agency; this
    row says which consultation they are the minutes of.
    """

    __tablename__ = "consultation_minutes_shares"

    consultation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    disclosure_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("disclosures.id", ondelete="CASCADE"), unique=True
    )
    disclosure: Mapped[Disclosure] = relationship(lazy="joined")


class RoleApproval(enum.StrEnum):
    """Where an invitation to a role that reads case content stands with the team lead."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class AccountInvitation(PublicIdMixin, TimestampMixin, Base):
    """An e-mailed, single-use link for a new agency representative to join and enrol."""

    __tablename__ = "account_invitations"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    email: Mapped[str] = mapped_column(EncryptedText)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # What the new account will be: agencies invite representatives, administrators staff.
    role: Mapped[Role] = mapped_column(text_enum(Role), default=Role.AGENCY_REP)
    consultation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("consultations.id", ondelete="SET NULL")
    )
    # Separation of duties: an invitation to a role that reads case content waits for a
    # team lead of the organisation (never the inviter) before any link is sent. Empty for
    # roles that need no approval.
    approval: Mapped[RoleApproval | None] = mapped_column(text_enum(RoleApproval))
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
