"""Declarative base shared by every feature's models."""

import contextlib
import enum
import functools
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    registry,
    scoped_session,
)

from app.core.clock import utcnow

# Named constraints let Alembic create and drop them identically on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes stored as UTC on every database.

    SQLite drops the offset of an aware datetime without converting it, so a time in
    Europe/Stockholm would silently come back an hour or two wrong; converting on the way
    in and labelling on the way out keeps both databases exact.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use app.core.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UtcDateTime},
    )


def text_enum(enum_class: type[enum.Enum], length: int = 20) -> sa.Enum:
    """An enum stored as its value in a plain string column, the same on both databases
    (no native PostgreSQL enum types to migrate when a value is added)."""
    return sa.Enum(
        enum_class, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class PublicIdMixin:
    """Random UUID primary keys: identifiers in URLs must not be guessable or countable."""

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def private_sqlite_file(database_url: str) -> None:
    """Make the embedded database file (and SQLite's side files) readable by its owner only.

    SQLite creates its file with the process umask, usually world-readable; created here
    first with mode 600, the database and its -wal/-shm files (SQLite gives them the
    database's mode) stay private. A file an earlier version created is closed too.
    """
    url = sa.engine.make_url(database_url)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return
    if name.startswith("file:"):
        return  # a URI filename: the operator chose its options, mode included
    path = Path(name)
    if not path.parent.is_dir():
        return  # SQLite will say the directory is missing, more clearly than we could
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            candidate.chmod(0o600)


def rows_matched(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE matched: the number that decides a guarded write
    (`UPDATE … WHERE <still unused>`), whichever of two parallel requests ran first."""
    return int(getattr(result, "rowcount", 0) or 0)


def begin_writing(session: Session | scoped_session[Any]) -> None:
    """Start the transaction as a writer now, on SQLite (on PostgreSQL rows lock themselves).

    The SQLite driver begins a transaction only at the first INSERT, UPDATE or DELETE, so a
    SAVEPOINT issued before it opens (and its RELEASE commits) a transaction of its own, and
    a read inside it may be overtaken by another writer, which SQLite answers with "database
    is locked" at once. BEGIN IMMEDIATE waits its turn for the write lock first.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_unless_present(model: Any, dialect: str, values: Any) -> sa.Insert:
    """INSERT … ON CONFLICT DO NOTHING on either database: of two writers of the same row,
    the second writes nothing (and, with RETURNING, gets no row back to say so)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(values).on_conflict_do_nothing()


def side_by_side(*one_row_selects: sa.FromClause) -> sa.FromClause:
    """One-row aggregates (each counting several things with FILTER in one pass over its
    table) joined into a single row, for one statement of many counts. Joined on TRUE:
    every side has exactly one row, so nothing multiplies."""
    return functools.reduce(lambda joined, side: joined.join(side, sa.true()), one_row_selects)
