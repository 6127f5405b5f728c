"""Cases: what a request becomes once the team takes it on."""

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.crypto import EncryptedText, blind_index_info
from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.core.labels import LabelledEnum, labelled
from app.rules.models import AgeBand

# The case a statement built once reads: each view of a case binds its id to it
# (`db.session.execute(statement, {"case_id": case.id})`) instead of building the statement
# again, which cost about as much as running it.
CASE_ID = sa.bindparam("case_id", type_=sa.Uuid)


class CaseStatus(LabelledEnum):
    NEW = "new"
    ASSESSMENT = "assessment"
    CONSENT = "consent"
    CONSULTATION = "consultation"
    INTERVENTION = "intervention"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"

    __labels__ = labelled(
        {
            NEW: _l("New"),
            ASSESSMENT: _l("Assessment"),
            CONSENT: _l("Consent"),
            CONSULTATION: _l("Consultation"),
            INTERVENTION: _l("Intervention"),
            FOLLOW_UP: _l("Follow-up"),
            CLOSED: _l("Closed"),
        }
    )


class CaseOutcome(LabelledEnum):
    ESTABLISHED = "established"
    WITHDREW = "withdrew"
    PLAN_BROKEN = "plan_broken"
    REFERRED = "referred"

    __labels__ = labelled(
        {
            ESTABLISHED: _l("Established"),
            WITHDREW: _l("Withdrew"),
            PLAN_BROKEN: _l("Plan broken"),
            REFERRED: _l("Referred elsewhere"),
        }
    )


class CaseSource(LabelledEnum):
    SELF_SERVICE = "self_service"
    PHONE = "phone"
    POLICE = "police"
    PROBATION = "probation"
    CALL_IN = "call_in"
    CUSTOM_NOTIFICATION = "custom_notification"  # a home visit after a custom notification
    RELATIVE = "relative"
    OTHER_AGENCY = "other_agency"  # a report of concern from school, health care, another team

    __labels__ = labelled(
        {
            SELF_SERVICE: _l("Self-service"),
            PHONE: _l("Phone"),
            POLICE: _l("Police"),
            PROBATION: _l("Probation service"),
            CALL_IN: _l("Call-in"),
            CUSTOM_NOTIFICATION: _l("Custom notification"),
            RELATIVE: _l("Relative"),
            OTHER_AGENCY: _l("Another agency (report of concern)"),
        }
    )


class ProtectionLevel(LabelledEnum):
    NONE = "none"
    CONFIDENTIALITY_MARKING = "sekretessmarkering"
    PROTECTED_REGISTRATION = "skyddad_folkbokforing"
    FICTITIOUS_IDENTITY = "fingerade_personuppgifter"

    __labels__ = labelled(
        {
            NONE: _l("None"),
            CONFIDENTIALITY_MARKING: _l("Confidentiality marking (sekretessmarkering)"),
            PROTECTED_REGISTRATION: _l("Protected registration (skyddad folkbokföring)"),
            FICTITIOUS_IDENTITY: _l("Fictitious identity (fingerade personuppgifter)"),
        }
    )


class Case(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "cases"
    __table_args__ = (
        # Case lists: a team's newest cases first, read straight off the index; also counts
        # a team's cases without touching the table.
        sa.Index("ix_cases_organisation_id_opened_at", "organisation_id", "opened_at", "id"),
        # Statistics: cases by source and outcome, counted from the index alone.
        sa.Index("ix_cases_organisation_id_source", "organisation_id", "source", "outcome"),
    )

    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    status: Mapped[CaseStatus] = mapped_column(text_enum(CaseStatus, 32), index=True)
    outcome: Mapped[CaseOutcome | None] = mapped_column(text_enum(CaseOutcome, 32))
    source: Mapped[CaseSource] = mapped_column(text_enum(CaseSource, 32))
    # The agency that reported the concern, told later whether an investigation was opened.
    # An organisation, not a person: nothing in it says who the case is about.
    reporting_organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL")
    )
    # The person's age band when the concern arrived: with the source it decides which
    # statutory clocks run (app/rules/clocks.toml). A band, not a birth date, stays clear.
    age_band: Mapped[AgeBand | None] = mapped_column(text_enum(AgeBand))
    protection_level: Mapped[ProtectionLevel] = mapped_column(
        text_enum(ProtectionLevel, 32), default=ProtectionLevel.NONE, index=True
    )
    opened_at: Mapped[datetime] = mapped_column(index=True)
    closed_at: Mapped[datetime | None]
    # Identity and location: encrypted, and masked for anyone not assigned when protected.
    full_name: Mapped[str | None] = mapped_column(EncryptedText)
    personal_number: Mapped[str | None] = mapped_column(EncryptedText)
    personal_number_index: Mapped[str | None] = mapped_column(
        sa.String(64), index=True, info=blind_index_info("personal-number", "personal_number")
    )
    phone: Mapped[str | None] = mapped_column(EncryptedText)
    address: Mapped[str | None] = mapped_column(EncryptedText)
    municipality: Mapped[str | None] = mapped_column(EncryptedText)
    household: Mapped[str | None] = mapped_column(EncryptedText)  # JSON: adults, children's ages

    assignments: Mapped[list["CaseAssignment"]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_protected(self) -> bool:
        return self.protection_level is not ProtectionLevel.NONE

    @property
    def assignee_ids(self) -> set[uuid.UUID]:
        return {a.user_id for a in self.assignments}


class CaseAssignment(TimestampMixin, Base):
    __tablename__ = "case_assignments"
    __table_args__ = (
        # A caseworker's cases, read from the index alone: over the years one caseworker
        # is assigned thousands of cases, and their list is matched against all of them.
        sa.Index("ix_case_assignments_user_id_case_id", "user_id", "case_id"),
        # Their open cases, a few dozen among those thousands, from an index of their own:
        # what the start page counts on, however long the person's history.
        sa.Index(
            "ix_case_assignments_open",
            "user_id",
            "case_id",
            postgresql_where=sa.text("case_open"),
            sqlite_where=sa.text("case_open"),
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The case's "not closed", copied where the index above can reach it. Set from the case
    # when the assignment is written (below) and cleared by services.close_case, the one
    # way a case closes; a closed case does not open again.
    case_open: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    case: Mapped[Case] = relationship(back_populates="assignments")
    user: Mapped[User] = relationship(lazy="joined")


@sa.event.listens_for(CaseAssignment, "before_insert")
def _open_as_its_case(_mapper: object, connection: sa.Connection, row: CaseAssignment) -> None:
    """Every way an assignment is written (a service, the demo, a test) copies the case's
    state as it is in the database, so the flag cannot start out wrong."""
    status = connection.scalar(sa.select(Case.status).where(Case.id == row.case_id))
    row.case_open = status is not CaseStatus.CLOSED


@sa.event.listens_for(Case.status, "set")
def _assignments_follow(case: Case, status: CaseStatus, _old: object, _by: object) -> None:
    """A status set on a loaded case (services.close_case updates the rows itself)."""
    for assignment in case.assignments:
        assignment.case_open = status is not CaseStatus.CLOSED


class GrantKind(enum.StrEnum):
    # An unassigned member of the team opens the case in an emergency.
    BREAK_GLASS = "break_glass"
    # Someone who may see the case, but not its protected identity, reveals it.
    REVEAL_IDENTITY = "reveal_identity"


class AccessGrant(PublicIdMixin, TimestampMixin, Base):
    """Time-limited access beyond the usual rules, given with a reason and reviewed later."""

    __tablename__ = "access_grants"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[GrantKind] = mapped_column(text_enum(GrantKind, 32))
    reason: Mapped[str] = mapped_column(EncryptedText)
    expires_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )


class ProtectionChangeStatus(enum.StrEnum):
    APPLIED = "applied"
    PENDING = "pending"  # a lowering waiting for a second team member
    REJECTED = "rejected"


# From least to most protected: a change down this list lowers the level.
PROTECTION_ORDER = (
    ProtectionLevel.NONE,
    ProtectionLevel.CONFIDENTIALITY_MARKING,
    ProtectionLevel.PROTECTED_REGISTRATION,
    ProtectionLevel.FICTITIOUS_IDENTITY,
)


def is_lowering(from_level: ProtectionLevel, to_level: ProtectionLevel) -> bool:
    return PROTECTION_ORDER.index(to_level) < PROTECTION_ORDER.index(from_level)


class ProtectionChange(PublicIdMixin, TimestampMixin, Base):
    """A change of a case's protected-identity level, kept for review.

    Lowering a level shows the identity to more people, so it carries a reason, the team
    lead reviews it like an emergency opening, identity reads in the period after it are
    flagged, and lowering a level someone else set waits for a second member's approval.
    """

    __tablename__ = "protection_changes"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    from_level: Mapped[ProtectionLevel] = mapped_column(text_enum(ProtectionLevel, 32))
    to_level: Mapped[ProtectionLevel] = mapped_column(text_enum(ProtectionLevel, 32))
    status: Mapped[ProtectionChangeStatus] = mapped_column(
        text_enum(ProtectionChangeStatus), index=True
    )
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    # Identity reads of the case until then are flagged in the access log.
    watch_until: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    @property
    def lowers(self) -> bool:
        return is_lowering(self.from_level, self.to_level)


class JournalEntry(PublicIdMixin, TimestampMixin, Base):
    """A dated note or a logged contact on a case."""

    __tablename__ = "journal_entries"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    occurred_on: Mapped[date]
    body: Mapped[str] = mapped_column(EncryptedText)


class ContactAttempt(PublicIdMixin, TimestampMixin, Base):
    """A try to reach the person behind a request (before or after it became a case)."""

    __tablename__ = "contact_attempts"

    request_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("client_requests.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    attempted_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(sa.String(20))
    outcome: Mapped[str] = mapped_column(sa.String(20))


class ThreatLevel(LabelledEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    ACUTE = "acute"

    __labels__ = labelled(
        {
            LOW: _l("Low"),
            MEDIUM: _l("Medium"),
            HIGH: _l("High"),
            ACUTE: _l("Acute"),
        }
    )


class ThreatGroup(PublicIdMixin, TimestampMixin, Base):
    """The team's own list of criminal groups, to link threat sources and check conflicts."""

    __tablename__ = "threat_groups"
    __table_args__ = (sa.UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))


threat_assessment_groups = sa.Table(
    "threat_assessment_groups",
    Base.metadata,
    sa.Column(
        "assessment_id",
        sa.ForeignKey("threat_assessments.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("group_id", sa.ForeignKey("threat_groups.id", ondelete="CASCADE"), primary_key=True),
)


class ThreatAssessment(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "threat_assessments"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[ThreatLevel] = mapped_column(text_enum(ThreatLevel, 32))
    assessed_by_police: Mapped[bool]
    assessor_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    assessed_on: Mapped[date]
    sources: Mapped[str | None] = mapped_column(EncryptedText)
    areas_to_avoid: Mapped[str] = mapped_column(EncryptedText)  # JSON list of municipalities
    next_review_on: Mapped[date | None] = mapped_column(index=True)
    groups: Mapped[list[ThreatGroup]] = relationship(
        secondary=threat_assessment_groups, lazy="selectin"
    )


NEEDS = (
    "housing",
    "income",
    "debt",
    "work_education",
    "addiction",
    "health",
    "family",
    "protection",
)


class NeedsAssessment(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "needs_assessments"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    assessor_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    assessed_on: Mapped[date]
    notes: Mapped[str] = mapped_column(EncryptedText)  # JSON: need -> short note


class InterventionStatus(LabelledEnum):
    PLANNED = "planned"
    ONGOING = "ongoing"
    DONE = "done"
    CANCELLED = "cancelled"

    __labels__ = labelled(
        {
            PLANNED: _l("Planned"),
            ONGOING: _l("Ongoing"),
            DONE: _l("Done"),
            CANCELLED: _l("Cancelled"),
        }
    )


class Intervention(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "interventions"

    case_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(40))
    provider: Mapped[str | None] = mapped_column(EncryptedText)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    status: Mapped[InterventionStatus] = mapped_column(text_enum(InterventionStatus, 32))
    outcome: Mapped[str | None] = mapped_column(EncryptedText)


def case_is_open() -> sa.ColumnElement[bool]:
    """Not closed. Written into the SQL rather than bound as a parameter: only a literal lets
    PostgreSQL match the partial index below, also in the plan it keeps for a prepared
    statement."""
    return Case.status != sa.literal_column(f"'{CaseStatus.CLOSED.value}'")


# Open cases are a few hundred per team however long its history: the default case list,
# the workloads and the deadline views read them from an index of their own.
sa.Index(
    "ix_cases_open",
    Case.organisation_id,
    Case.opened_at,
    Case.id,
    postgresql_where=case_is_open(),
    sqlite_where=case_is_open(),
)
