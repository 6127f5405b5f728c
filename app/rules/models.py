import uuid
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, PublicIdMixin, TimestampMixin
from app.core.labels import LabelledEnum, labelled


class AgeBand(LabelledEnum):
    UNDER_15 = "under_15"
    FROM_15_TO_17 = "15_17"
    FROM_18_TO_20 = "18_20"
    FROM_21 = "21_plus"
    UNKNOWN = "unknown"

    __labels__ = labelled(
        {
            UNDER_15: _l("Under 15"),
            FROM_15_TO_17: _l("15 to 17"),
            FROM_18_TO_20: _l("18 to 20"),
            FROM_21: _l("21 or older"),
            UNKNOWN: _l("Not known yet"),
        }
    )
    __client_labels__ = labelled(
        {
            UNKNOWN: _l("I do not know"),
        }
    )

    @property
    def is_child(self) -> bool:
        return self in (AgeBand.UNDER_15, AgeBand.FROM_15_TO_17)

    @property
    def is_under_21(self) -> bool:
        return self.is_child or self is AgeBand.FROM_18_TO_20

    @classmethod
    def from_birth_year(cls, birth_year: int, this_year: int) -> "AgeBand":
        """The band of the youngest age a person born that year can be now.

        A birth year leaves a year's doubt; the protection of a child must not depend on
        whether their birthday has passed, so the doubt goes to the younger band.
        """
        youngest = this_year - birth_year - 1
        if youngest < 15:
            return cls.UNDER_15
        if youngest < 18:
            return cls.FROM_15_TO_17
        if youngest < 21:
            return cls.FROM_18_TO_20
        return cls.FROM_21


class Deadline(PublicIdMixin, TimestampMixin, Base):
    """A legal or practice deadline running on a request, or on a case that came from
    another source (the police, probation, a call-in, a home visit, a phone call)."""

    __tablename__ = "deadlines"
    __table_args__ = (
        # Every clock runs on something the team can see: a request, a case, or both.
        sa.CheckConstraint(
            "request_id IS NOT NULL OR case_id IS NOT NULL", name="runs_on_request_or_case"
        ),
    )

    request_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("client_requests.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    rule_key: Mapped[str] = mapped_column(sa.String(64))
    # The citation in force when the clock started, kept with the deadline.
    citation: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[datetime] = mapped_column(index=True)
    met_at: Mapped[datetime | None]


# Unmet clocks are a few per case however long the history: the start page counts them by
# their time from an index of their own, not from every deadline ever met.
sa.Index(
    "ix_deadlines_unmet",
    Deadline.due_at,
    postgresql_where=Deadline.met_at.is_(None),
    sqlite_where=Deadline.met_at.is_(None),
)
