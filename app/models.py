"""Every feature's models, imported together so the metadata (and Alembic) sees them all."""

from app.audit.models import AuditEvent, AuditHead
from app.auth.models import RecoveryCode, User, UserSession
from app.orgs.models import Organisation

__all__ = ["AuditEvent", "AuditHead", "Organisation", "RecoveryCode", "User", "UserSession"]
