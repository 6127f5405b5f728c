import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled
from app.rules.models import AgeBand as AgeBand  # re-exported: the intake asks for it

if TYPE_CHECKING:
    from app.cases.models import Case


class RequestKind(LabelledEnum):
    DEFECTOR = "defector"
    RELATIVE = "relative"
    THREATENED = "threatened"

    __labels__ = labelled(
        {
            DEFECTOR: _l("I want to leave crime"),
            RELATIVE: _l("I am worried about someone close to me"),
            THREATENED: _l("I am being threatened"),
        }
    )


class RequestStatus(LabelledEnum):
    RECEIVED = "received"
    CONTACTED = "contacted"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    __labels__ = labelled(
        {
            RECEIVED: _l("Received"),
            CONTACTED: _l("We have contacted you"),
            IN_PROGRESS: _l("In progress"),
            CLOSED: _l("Closed"),
            WITHDRAWN: _l("Withdrawn"),
        }
    )


class Urgency(LabelledEnum):
    ACUTE = "acute"
    SOON = "soon"
    CAN_WAIT = "can_wait"

    __labels__ = labelled(
        {
            ACUTE: _l("I am in danger right now"),
            SOON: _l("Within a few days"),
            CAN_WAIT: _l("It can wait a little"),
        }
    )


# What the start page counts the waiting requests by (app/cases/services.py, triage_counts).
WAITING_COUNTED_BY = ["urgent", "urgency", "submitted_at", "first_contact_at", "assigned_to_id"]


class ClientRequest(PublicIdMixin, TimestampMixin, Base):
    """A request for help submitted through self-service. Everything that could tell who
    asked, or why, is encrypted; what stays clear is what triage must sort and count by."""

    __tablename__ = "client_requests"
    __table_args__ = (
        # Statistics: requests by kind, month and language, and times to first contact,
        # computed from the index alone; the rows themselves are wide with ciphertext.
        sa.Index(
            "ix_client_requests_statistics",
            "organisation_id",
            "kind",
            "language",
            "submitted_at",
            "first_contact_at",
        ),
        # The team's inbox: requests not (yet) made a case, by status, with what the start
        # page counts them by. A team's requests over the years are nearly all cases or
        # closed; its waiting ones are counted from this index alone, whichever plan the
        # database keeps for the start page's counts (by the organisation's index it read
        # all 85,000 of a team's requests to count 15: 18 ms at 100,000 cases).
        sa.Index(
            "ix_client_requests_waiting",
            "organisation_id",
            "status",
            postgresql_where=sa.text("case_id IS NULL"),
            postgresql_include=WAITING_COUNTED_BY,
            sqlite_where=sa.text("case_id IS NULL"),
        ),
    )

    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # Null once the client deleted their account while a case keeps the request.
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    client: Mapped[User | None] = relationship(foreign_keys=[client_id])
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    kind: Mapped[RequestKind] = mapped_column(text_enum(RequestKind))
    status: Mapped[RequestStatus] = mapped_column(text_enum(RequestStatus), index=True)
    urgency: Mapped[Urgency] = mapped_column(text_enum(Urgency))
    urgent: Mapped[bool] = mapped_column(default=False, index=True)
    source: Mapped[str] = mapped_column(sa.String(20), default="self_service")
    language: Mapped[str] = mapped_column(sa.String(8))
    submitted_at: Mapped[datetime] = mapped_column(index=True)
    # Relative's request: a person under 18 makes it a report of concern about a child.
    age_band: Mapped[AgeBand | None] = mapped_column(text_enum(AgeBand))
    concerns_child: Mapped[bool] = mapped_column(default=False)
    concerns_under_21: Mapped[bool] = mapped_column(default=False)
    relationship_to_person: Mapped[str | None] = mapped_column(EncryptedText)
    help_wanted: Mapped[str] = mapped_column(EncryptedText)  # JSON list of intervention codes
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    safe_times: Mapped[str | None] = mapped_column(EncryptedText)
    voicemail_ok: Mapped[bool] = mapped_column(default=False)
    sms_ok: Mapped[bool] = mapped_column(default=False)
    code_word: Mapped[str | None] = mapped_column(EncryptedText)
    contact_language: Mapped[str | None] = mapped_column(sa.String(8))
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    identity_name: Mapped[str | None] = mapped_column(EncryptedText)
    identity_birth_year: Mapped[str | None] = mapped_column(EncryptedText)
    account_text: Mapped[str | None] = mapped_column(EncryptedText)
    withdrawn_at: Mapped[datetime | None]
    # Set by the team when the request becomes a case; from then on records are kept by law.
    became_case_at: Mapped[datetime | None]
    # Triage: who took it, when the person was first reached, why it closed without a case.
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    first_contact_at: Mapped[datetime | None]
    closed_reason: Mapped[str | None] = mapped_column(sa.String(40))
    # The case this request opened (became_case_at set) or, for a relative's request, the
    # case it was linked to; neither party ever sees the other through the portal.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True
    )
    case: Mapped["Case | None"] = relationship(foreign_keys=[case_id])

    additions: Mapped[list["RequestAddition"]] = relationship(
        back_populates="request",
        order_by="RequestAddition.created_at",
        cascade="all, delete-orphan",
    )


class RequestAddition(PublicIdMixin, TimestampMixin, Base):
    """Information the client added after submitting."""

    __tablename__ = "request_additions"

    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("client_requests.id", ondelete="CASCADE"), index=True
    )
    request: Mapped[ClientRequest] = relationship(back_populates="additions")
    text: Mapped[str] = mapped_column(EncryptedText)


class RequestDraft(TimestampMixin, Base):
    """A request being written, kept between steps and across logouts (encrypted JSON)."""

    __tablename__ = "request_drafts"

    client_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[str] = mapped_column(EncryptedText)
    updated_at: Mapped[datetime]
