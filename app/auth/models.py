import enum
import uuid
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.core.crypto import EncryptedText, blind_index_info
from app.core.db import Base, PublicIdMixin, TimestampMixin, text_enum
from app.orgs.models import Organisation


class Role(enum.StrEnum):
    CLIENT = "client"
    CASEWORKER = "caseworker"
    TEAM_LEAD = "team_lead"
    AGENCY_REP = "agency_rep"
    PARTNER = "partner"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CLIENT


class Asker(Protocol):
    """Who is asking, as the SQL that decides what they may count needs them: a User, or
    the placeholders of a statement built once and run for each user (app/home/counts.py)."""

    @property
    def id(self) -> Any: ...
    @property
    def organisation_id(self) -> Any: ...
    @property
    def role(self) -> Role: ...
    @property
    def is_authenticated(self) -> bool: ...


class User(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(text_enum(Role))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    active: Mapped[bool] = mapped_column(default=True)
    # The second factor is saved only once a code from it has been confirmed. The secrets
    # below are deferred: loaded (and decrypted) only where they are used, not with the
    # user that every request looks up.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)
    # Whether there is one, asked of the database: a list of accounts shows it for each
    # without loading or decrypting a single secret.
    has_totp: Mapped[bool] = column_property(totp_secret.is_not(None))
    # The last accepted 30-second step: a code from it or an earlier step is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Wrong codes since the factor last worked, and when they reached the cap (Settings.
    # totp_failure_cap) and locked it: then only a recovery code or a reset gets in.
    totp_failures: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    totp_locked_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Clients only: the language notifications are written in, and an optional address for
    # content-free "you have a new message" e-mails (encrypted; given only by opting in).
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    notify_email: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)

    __table_args__ = (
        # Clients belong to no organisation; every member of staff belongs to exactly one.
        sa.CheckConstraint(
            "(role = 'client' AND organisation_id IS NULL)"
            " OR (role <> 'client' AND organisation_id IS NOT NULL)",
            name="organisation_matches_role",
        ),
    )

    # Flask-Login's protocol; a user is authenticated only through a verified session.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        # A deactivated organisation takes its members with it: every login and every
        # request of an open session is refused, whatever the account's own flag says.
        return self.active and (self.organisation is None or self.organisation.active)

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


class RecoveryCode(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "recovery_codes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Only the keyed hash is kept, so a re-index cannot recompute it: a code made under an
    # earlier BLIND_INDEX_KEY works while BLIND_INDEX_PREVIOUS_KEYS holds that key.
    code_hash: Mapped[str] = mapped_column(
        sa.String(64), unique=True, info=blind_index_info("recovery-code", None)
    )
    used_at: Mapped[datetime | None]


class UserSession(PublicIdMixin, TimestampMixin, Base):
    """A server-side login. The browser holds only a random token whose hash is stored here,
    so any session can be revoked at once, on any instance."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    user: Mapped[User] = relationship(lazy="joined")
    last_seen_at: Mapped[datetime]
    second_factor_at: Mapped[datetime | None]
    stepped_up_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # A TOTP secret offered during enrolment, kept here (encrypted) until a code confirms it.
    pending_totp_secret: Mapped[str | None] = mapped_column(EncryptedText, deferred=True)

    @property
    def is_fully_authenticated(self) -> bool:
        return self.second_factor_at is not None and self.revoked_at is None


class Passkey(PublicIdMixin, TimestampMixin, Base):
    """A WebAuthn credential: a second factor held by the phone (or a security key) itself,
    unlocked with its screen lock, beside or instead of codes from an authenticator app.

    Only what checking a signature needs is kept: the credential's id, its public key and the
    authenticator's signature counter. No name is asked for: a label a person types is free
    text that would have to be encrypted, and the dates tell two passkeys apart well enough.
    """

    __tablename__ = "passkeys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(sa.LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # The authenticator's own count of signatures; one that does not grow (when it counts at
    # all) is a cloned or replayed credential.
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_used_at: Mapped[datetime | None]


class PasskeyPurpose(enum.StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    STEP_UP = "step_up"


class PasskeyChallenge(PublicIdMixin, TimestampMixin, Base):
    """A challenge offered to one session for one ceremony, spent by the first answer.

    Stored as a digest: the challenge itself travels to the browser and back, and the row
    only has to recognise it once.
    """

    __tablename__ = "passkey_challenges"

    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("user_sessions.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[PasskeyPurpose] = mapped_column(text_enum(PasskeyPurpose))
    challenge_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
