"""Encryption at rest for sensitive fields, and keyed blind indexes for exact-match lookups.

Sensitive text is stored as Fernet tokens (AES-128-CBC with HMAC-SHA256, from
`cryptography`): authenticated, so a tampered ciphertext fails to decrypt rather than
yielding altered plaintext. MultiFernet gives key rotation: the first configured key
encrypts, every key decrypts, and `flask keys rotate` re-encrypts old rows.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

EXTENSION_KEY = "utvag.crypto"


class DecryptionError(RuntimeError):
    """A stored value could not be decrypted with any configured key."""


@dataclass(frozen=True)
class KeyRing:
    fernet: MultiFernet
    # The key that encrypts (the first): a value it opens needs no rotation.
    newest: Fernet
    blind_index_key: bytes
    # Earlier blind-index keys: an index not yet recomputed (`flask keys reindex`), or a
    # recovery code (which cannot be), is still found under one of them.
    previous_blind_index_keys: tuple[bytes, ...] = ()

    @classmethod
    def from_keys(
        cls,
        field_keys: Sequence[str],
        blind_index_key: str,
        previous_blind_index_keys: Sequence[str] = (),
    ) -> KeyRing:
        fernets = [Fernet(key.encode()) for key in field_keys]
        return cls(
            fernet=MultiFernet(fernets),
            newest=fernets[0],
            blind_index_key=blind_index_key.encode(),
            previous_blind_index_keys=tuple(key.encode() for key in previous_blind_index_keys),
        )

    def encrypt(self, plaintext: str) -> str:
        return self.fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            # Never include the token or any plaintext in the message: it may be logged.
            raise DecryptionError(
                "stored value cannot be decrypted with the configured keys"
            ) from exc

    def rotate(self, token: str) -> str:
        return self.fernet.rotate(token.encode()).decode()


def init_crypto(
    app: Flask,
    field_keys: Sequence[str],
    blind_index_key: str,
    *,
    previous_blind_index_keys: Sequence[str] = (),
) -> None:
    app.extensions[EXTENSION_KEY] = KeyRing.from_keys(
        field_keys, blind_index_key, previous_blind_index_keys
    )


def keyring() -> KeyRing:
    ring: KeyRing = current_app.extensions[EXTENSION_KEY]
    return ring


class EncryptedText(sa.types.TypeDecorator[str]):
    """Text that is encrypted before it reaches the database and decrypted on load."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().decrypt(value)


def normalise_for_index(value: str) -> str:
    """Case, width and surrounding space must not change which row an exact match finds."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def blind_index(value: str, purpose: str) -> str:
    """A keyed hash for exact-match lookups of an encrypted value.

    The purpose is mixed in so that the same value indexed for two purposes (say, a
    personal identity number and a phone number) cannot be linked across columns.
    """
    return _blind_index(keyring().blind_index_key, value, purpose)


def blind_index_candidates(value: str, purpose: str) -> list[str]:
    """Every index the value may be stored under: the current key's first, then each
    earlier key's. A look-up matches any of them, so nobody is missed while a re-index
    runs (or a recovery code made under an earlier key is used)."""
    ring = keyring()
    keys = (ring.blind_index_key, *ring.previous_blind_index_keys)
    return [_blind_index(key, value, purpose) for key in keys]


def _blind_index(key: bytes, value: str, purpose: str) -> str:
    message = f"{purpose}\x00{normalise_for_index(value)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class BlindIndexed:
    """What a blind-index column indexes: `source` names the encrypted column of the same
    row it is computed from (None when only the index is kept, like a recovery code's)."""

    purpose: str
    source: str | None


def blind_index_info(purpose: str, source: str | None) -> dict[str, BlindIndexed]:
    """The `info` of a blind-index column, so `flask keys reindex` finds it."""
    return {"blind_index": BlindIndexed(purpose, source)}


def blind_index_columns(
    base: type[DeclarativeBase],
) -> Iterator[tuple[sa.Table, sa.Column[Any], BlindIndexed]]:
    for table in base.metadata.sorted_tables:
        for column in table.columns:
            indexed = column.info.get("blind_index")
            if isinstance(indexed, BlindIndexed):
                yield table, column, indexed


def encrypted_columns(base: type[DeclarativeBase]) -> Iterator[tuple[sa.Table, sa.Column[Any]]]:
    """Every column in the schema that holds encrypted text."""
    for table in base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                yield table, column


@dataclass
class Rotation:
    """What a rotation did: values rewritten, and the values no configured key opens."""

    rewritten: int = 0
    unreadable: list[str] = field(default_factory=list)


# Rows rewritten per transaction: each batch holds its row locks for a moment only, so a
# login or an edit never waits on a rotation for long.
ROTATION_BATCH = 200


def rotate_all(
    session: Any,
    base: type[DeclarativeBase],
    *,
    end_batch: Callable[[], None],
    batch_size: int = ROTATION_BATCH,
) -> Rotation:
    """Re-encrypt every value not yet under the newest key, `batch_size` rows at a time.

    `end_batch` is called after each batch (the command commits there). A value already
    under the newest key is left alone, so an interrupted rotation resumes where it
    stopped; a value changed meanwhile by someone's edit is left as they wrote it (the
    update names the old token); a value no key opens is named, not fatal.
    """
    ring = keyring()
    result = Rotation()
    for table, column in encrypted_columns(base):
        primary_key = list(table.primary_key.columns)
        raw = sa.type_coerce(column, sa.Text).label("token")
        # One statement for the batch, sent with all its rows at once: a row at a time, the
        # round trips alone took hours at a national installation's million values.
        rewrite = (
            sa.update(table)
            .where(
                *(pk == sa.bindparam(f"pk_{pk.name}") for pk in primary_key),
                sa.type_coerce(column, sa.Text) == sa.bindparam("old_token", type_=sa.Text),
            )
            .values({column.name: sa.bindparam("new_token", type_=sa.Text)})
        )
        after: tuple[Any, ...] | None = None
        while True:
            query = sa.select(*primary_key, raw).where(column.is_not(None))
            if after is not None:
                query = query.where(sa.tuple_(*primary_key) > sa.tuple_(*after))
            rows = session.execute(query.order_by(*primary_key).limit(batch_size)).all()
            if not rows:
                break
            changes: list[dict[str, Any]] = []
            for row in rows:
                try:
                    ring.newest.decrypt(row.token.encode())
                    continue  # already under the newest key
                except InvalidToken:
                    pass
                key = tuple(getattr(row, pk.name) for pk in primary_key)
                try:
                    token = ring.rotate(row.token)
                except InvalidToken:
                    names = ", ".join(str(part) for part in key)
                    result.unreadable.append(f"{table.name}.{column.name} row {names}")
                    continue
                changes.append(
                    {
                        **{
                            f"pk_{pk.name}": value
                            for pk, value in zip(primary_key, key, strict=True)
                        },
                        "old_token": row.token,
                        "new_token": token,
                    }
                )
            if changes:
                session.execute(rewrite, changes)
                result.rewritten += len(changes)
            end_batch()
            after = tuple(getattr(rows[-1], pk.name) for pk in primary_key)
    return result


@dataclass
class Reindex:
    """What a re-index did: indexes recomputed, rows whose source no key opens, and the
    indexes that cannot be recomputed because only the index is kept."""

    rewritten: int = 0
    unreadable: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)


def reindex_all(
    session: Any,
    base: type[DeclarativeBase],
    *,
    end_batch: Callable[[], None],
    batch_size: int = ROTATION_BATCH,
) -> Reindex:
    """Recompute every blind index under the current BLIND_INDEX_KEY, `batch_size` rows at a
    time, from the encrypted value it indexes.

    Like `rotate_all`: `end_batch` commits, an index already under the current key is left
    alone (so an interrupted re-index resumes), a row someone changed meanwhile is left as
    they wrote it (the update names the old index and the old token), and a value no
    field key opens is named, not fatal.
    """
    ring = keyring()
    result = Reindex()
    for table, column, indexed in blind_index_columns(base):
        if indexed.source is None:
            count = session.scalar(
                sa.select(sa.func.count()).select_from(table).where(column.is_not(None))
            )
            result.kept[f"{table.name}.{column.name}"] = count or 0
            continue
        source = table.columns[indexed.source]
        primary_key = list(table.primary_key.columns)
        token = sa.type_coerce(source, sa.Text).label("token")
        after: tuple[Any, ...] | None = None
        while True:
            query = sa.select(*primary_key, token, column.label("stored")).where(
                source.is_not(None)
            )
            if after is not None:
                query = query.where(sa.tuple_(*primary_key) > sa.tuple_(*after))
            rows = session.execute(query.order_by(*primary_key).limit(batch_size)).all()
            if not rows:
                break
            for row in rows:
                key = tuple(getattr(row, pk.name) for pk in primary_key)
                try:
                    value = ring.decrypt(row.token)
                except DecryptionError:
                    names = ", ".join(str(part) for part in key)
                    result.unreadable.append(f"{table.name}.{column.name} row {names}")
                    continue
                index = _blind_index(ring.blind_index_key, value, indexed.purpose)
                if index == row.stored:
                    continue
                condition = sa.and_(
                    *(pk == part for pk, part in zip(primary_key, key, strict=True)),
                    sa.type_coerce(source, sa.Text) == row.token,
                    column == row.stored if row.stored is not None else column.is_(None),
                )
                session.execute(sa.update(table).where(condition).values({column.name: index}))
                result.rewritten += 1
            end_batch()
            after = tuple(getattr(rows[-1], pk.name) for pk in primary_key)
    return result
