import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

GENESIS_HASH = "0" * 64
HEAD_ID = 1
KEY_ROW_ID = 2


class AuditEvent(Base):
    """One audited action. Rows are only ever inserted; `flask audit verify` proves it.

    Actor, subject and organisation are plain identifiers, not foreign keys: the trail must
    outlive the rows it speaks of (deleted accounts, cases past retention).
    """

    __tablename__ = "audit_events"
    # A subject's events of some kinds (a case's story on its timeline) without stepping
    # over its reads, of which a busy case gathers thousands; alone, the subject's events.
    __table_args__ = (sa.Index("ix_audit_events_subject_action", "subject_id", "action"),)

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The single row that serialises appends to the chain.

    Updating it first takes a row lock on PostgreSQL and the write lock on SQLite, so two
    concurrent transactions can never chain onto the same predecessor.

    Once AUDIT_KEY has been changed, a second row (`KEY_ROW_ID`) names in `hash` the
    fingerprint of the key new events chain under, and in `seq` the last event of the
    epoch before: a writer reads it with the head, under the head's lock, and an instance
    still holding an earlier key refuses to write instead of breaking the chain. (A row,
    not a column: code that writes events into a database of an earlier release, as an
    upgrade test does, then still finds the columns it reads.)
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditKeyChange(Base):
    """Where the chain moved from one AUDIT_KEY to the next (`flask keys rotate-audit`).

    It names the last event written under the old key and its hash, and is signed with the
    old key and with the new one: the new key's signature fixes the whole earlier epoch
    (changing any of its events changes that last hash), so even someone who holds the old
    key, say because it leaked, cannot rewrite history before the change; the old key's
    signature says its holder made the change. Each epoch is verified with its own key.
    """

    __tablename__ = "audit_key_changes"

    # The last event under the old key (0 when the chain was empty).
    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    hash: Mapped[str] = mapped_column(sa.String(64))
    old_key: Mapped[str] = mapped_column(sa.String(64))  # fingerprints (app.core.keycheck)
    new_key: Mapped[str] = mapped_column(sa.String(64))
    changed_at: Mapped[datetime]
    old_signature: Mapped[str] = mapped_column(sa.String(64))
    new_signature: Mapped[str] = mapped_column(sa.String(64))


class AuditCheckpoint(Base):
    """Where the chain resumes after old events were deleted by the retention rules.

    It records the last deleted event's number and hash, signed with AUDIT_KEY: whoever can
    edit the database cannot forge one to hide a deletion of their own.
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    hash: Mapped[str] = mapped_column(sa.String(64))
    deleted: Mapped[int]
    created_at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(sa.String(64))


# The account of a tally whose attempt named no account (or one that does not exist).
NO_ACCOUNT = uuid.UUID(int=0)


class SecurityTally(Base):
    """Counted security events that anyone may cause without logging in: failed password
    logins and throttled requests, one row per kind, account and endpoint per hour.

    They are not audit events on purpose. Every audit event is chained, so each one takes
    the chain's head row in turn: a stranger sending failed logins would serialise every
    writer of the portal behind their flood and grow the tamper-evident trail without
    bound, burying the team's own events in the access review. What a team lead needs from
    them is how many, against which account, when: a count per hour says that, and the
    table's size is bounded by accounts × endpoints × hours kept (the retention rule
    `security_tallies`), however many attempts are made. Client addresses are not kept: a
    defector's address is personal data the review does not need.
    """

    __tablename__ = "security_tallies"
    __table_args__ = (sa.UniqueConstraint("kind", "window_start", "account_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    window_start: Mapped[datetime] = mapped_column(index=True)
    account_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)  # NO_ACCOUNT when none was named
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    scope: Mapped[str] = mapped_column(sa.String(64))  # the endpoint, for throttling
    count: Mapped[int]
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]


class AuditVerification(Base):
    """The outcome of a whole-chain verification (`flask audit verify`), signed.

    The access-log page verifies only the events after the last intact verification, so a
    page view costs the day's events and not the whole history; the signature (AUDIT_KEY)
    keeps someone who can edit the database from moving the verified point past events
    they altered.
    """

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(index=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(sa.String(64))
    problems: Mapped[int]
    signature: Mapped[str] = mapped_column(sa.String(64))
