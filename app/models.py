"""Every feature's models, imported together so the metadata (and Alembic) sees them all."""

from app.audit.models import AuditEvent, AuditHead
from app.auth.models import RecoveryCode, User, UserSession
from app.core.outbox import OutboxMessage
from app.intake.models import ClientRequest, RequestAddition, RequestDraft
from app.messages.models import Message
from app.orgs.models import Organisation
from app.rules.models import Deadline

__all__ = [
    "AuditEvent",
    "AuditHead",
    "ClientRequest",
    "Deadline",
    "Message",
    "Organisation",
    "OutboxMessage",
    "RecoveryCode",
    "RequestAddition",
    "RequestDraft",
    "User",
    "UserSession",
]
