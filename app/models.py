"""Every feature's models, imported together so the metadata (and Alembic) sees them all."""

from app.alerts.models import Alert, AlertPreference
from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead, AuditKeyChange
from app.auth.models import Passkey, PasskeyChallenge, RecoveryCode, User, UserSession
from app.cases.models import (
    AccessGrant,
    Case,
    CaseAssignment,
    ContactAttempt,
    Intervention,
    JournalEntry,
    NeedsAssessment,
    ThreatAssessment,
    ThreatGroup,
)
from app.consent.models import Consent, DisclosedField, Disclosure
from app.consultations.models import (
    AccountInvitation,
    Action,
    Consultation,
    Decision,
    Invitation,
)
from app.core.jobs import JobRun, ReminderSent
from app.core.keycheck import KeyFingerprint
from app.core.outbox import OutboxMessage
from app.feedback.models import AccessibilityFeedback
from app.intake.models import ClientRequest, RequestAddition, RequestDraft
from app.messages.models import Message
from app.orgs.models import Organisation
from app.oversight.models import AccessReview
from app.placements.models import PartnerProfile, Placement, PlacementRequest
from app.rules.models import Deadline
from app.settings.models import SiteSetting

__all__ = [
    "AccessGrant",
    "AccessReview",
    "AccessibilityFeedback",
    "AccountInvitation",
    "Action",
    "Alert",
    "AlertPreference",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "AuditKeyChange",
    "Case",
    "CaseAssignment",
    "ClientRequest",
    "Consent",
    "Consultation",
    "ContactAttempt",
    "Deadline",
    "Decision",
    "DisclosedField",
    "Disclosure",
    "Intervention",
    "Invitation",
    "JobRun",
    "JournalEntry",
    "KeyFingerprint",
    "Message",
    "NeedsAssessment",
    "Organisation",
    "OutboxMessage",
    "PartnerProfile",
    "Passkey",
    "PasskeyChallenge",
    "Placement",
    "PlacementRequest",
    "RecoveryCode",
    "ReminderSent",
    "RequestAddition",
    "RequestDraft",
    "SiteSetting",
    "ThreatAssessment",
    "ThreatGroup",
    "User",
    "UserSession",
]
