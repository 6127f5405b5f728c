"""Alerts: what happened on someone's cases and requests, to be seen in the portal."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled


class AlertKind(LabelledEnum):
    """What happened. The kind also says what the alert's subject is (see SUBJECTS)."""

    ACUTE_REQUEST = "acute_request"
    REQUEST_LATE = "request_late"
    CLIENT_MESSAGE = "client_message"
    AGENCY_ANSWER = "agency_answer"
    PARTNER_ANSWER = "partner_answer"
    ACTION_OVERDUE = "action_overdue"
    CASE_ACCESSED = "case_accessed"
    # For the people outside the team: something waits for their answer.
    CONSULTATION_INVITATION = "consultation_invitation"
    PLACEMENT_REQUEST = "placement_request"
    ACTION_ASSIGNED = "action_assigned"
    MINUTES_SHARED = "minutes_shared"

    __labels__ = labelled(
        {
            ACUTE_REQUEST: _l("New acute request"),
            REQUEST_LATE: _l("Request past its first-contact target"),
            CLIENT_MESSAGE: _l("New message from a client"),
            AGENCY_ANSWER: _l("An agency answered a consultation invitation"),
            PARTNER_ANSWER: _l("A partner answered a placement request"),
            ACTION_OVERDUE: _l("An action is overdue"),
            CASE_ACCESSED: _l("Someone opened your case with an emergency access"),
            CONSULTATION_INVITATION: _l("You are invited to a consultation"),
            PLACEMENT_REQUEST: _l("A new placement request waits for your answer"),
            ACTION_ASSIGNED: _l("A consultation gave your agency an action"),
            MINUTES_SHARED: _l("The minutes of a consultation are shared with you"),
        }
    )


class Alert(PublicIdMixin, TimestampMixin, Base):
    """One person told of one thing.

    Only identifiers and a kind: no reference, name or text of the case, so a leaked
    table tells nothing the audit trail does not already (tests/core/test_columns_at_rest).
    The page the alert links to loads the subject and decides again who may see it.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        # The start page and the list: one person's unread alerts by kind, off the index.
        sa.Index("ix_alerts_user_id_read_at_kind", "user_id", "read_at", "kind"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[AlertKind] = mapped_column(text_enum(AlertKind, 32))
    # The request, consultation, placement, action or case it is about (by kind).
    subject_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    # The case it belongs to, if any: an alert is listed only while its reader may still
    # see that case, and it goes with the case when retention deletes it.
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    read_at: Mapped[datetime | None]


class AlertPreference(Base):
    """A person's choice of a notice mail when an alert arrives; no row means no mail.

    Its own table rather than a column on users: the choice is this feature's, and every
    request loads the user row.
    """

    __tablename__ = "alert_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    mail: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]
