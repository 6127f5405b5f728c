import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """One audited action. Rows are only ever inserted; `flask audit verify` proves it.

    Actor, subject and organisation are plain identifiers, not foreign keys: the trail must
    outlive the rows it speaks of (deleted accounts, cases past retention).
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    details: Mapped[str] = mapped_column(sa.Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class AuditHead(Base):
    """The single row that serialises appends to the chain.

    Updating it first takes a row lock on PostgreSQL and the write lock on SQLite, so two
    concurrent transactions can never chain onto the same predecessor.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(sa.String(64))


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
