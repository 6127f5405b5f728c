"""The WebAuthn ceremonies of passkeys: options for the browser, and checking its answers.

The relying party is the address in BASE_URL (its host name is the rp id, its scheme and
host the only accepted origin), never the request's Host header. Every challenge is made
here, stored as a digest bound to one session and one purpose, and spent by one guarded
UPDATE before the answer is checked, so an answer (or a copy of it) works at most once.
The audit trail and the login itself are the caller's (app.auth.services).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app.auth.models import Passkey, PasskeyChallenge, PasskeyPurpose, User, UserSession
from app.core.clock import utcnow
from app.core.db import rows_matched
from app.core.errors import keep_on_refusal
from app.extensions import db

CHALLENGE_BYTES = 32
CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000


class PasskeyRejected(Exception):
    """The browser's answer was malformed, late, spent already, or did not verify."""


def relying_party() -> tuple[str, str]:
    """The rp id and the one accepted origin, both from BASE_URL."""
    base = urlsplit(current_app.config["BASE_URL"])
    return base.hostname or "", f"{base.scheme}://{base.netloc}"


def passkeys_of(user: User) -> Sequence[Passkey]:
    return db.session.scalars(
        sa.select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at)
    ).all()


def _digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _new_challenge(user_session: UserSession, purpose: PasskeyPurpose) -> bytes:
    # A session has one open challenge per purpose: asking again replaces it, so the table
    # holds at most a few rows per session however often the button is pressed.
    db.session.execute(
        sa.delete(PasskeyChallenge).where(
            PasskeyChallenge.session_id == user_session.id, PasskeyChallenge.purpose == purpose
        )
    )
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    db.session.add(
        PasskeyChallenge(
            session_id=user_session.id,
            purpose=purpose,
            challenge_hash=_digest(challenge),
            expires_at=utcnow() + CHALLENGE_LIFETIME,
        )
    )
    db.session.flush()
    return challenge


def registration_options(user_session: UserSession, rp_name: str) -> str:
    """Options (JSON) for navigator.credentials.create(), for the session's own account."""
    user = user_session.user
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        # The pseudonym, and the account's random id: nothing on the phone names a person.
        user_name=user.username,
        user_display_name=user.username,
        user_id=user.id.bytes,
        challenge=_new_challenge(user_session, PasskeyPurpose.REGISTER),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=passkey.credential_id) for passkey in passkeys_of(user)
        ],
    )
    return str(options_to_json(options))


def authentication_options(user_session: UserSession, purpose: PasskeyPurpose) -> str:
    """Options (JSON) for navigator.credentials.get(): only the account's own passkeys."""
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=_new_challenge(user_session, purpose),
        timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=passkey.credential_id)
            for passkey in passkeys_of(user_session.user)
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return str(options_to_json(options))


def _spend(user_session: UserSession, purpose: PasskeyPurpose, challenge: bytes) -> None:
    """Spend the session's open challenge for this purpose; exactly one answer gets it."""

    def spend() -> int:
        return rows_matched(
            db.session.execute(
                sa.update(PasskeyChallenge)
                .where(
                    PasskeyChallenge.challenge_hash == _digest(challenge),
                    PasskeyChallenge.session_id == user_session.id,
                    PasskeyChallenge.purpose == purpose,
                    PasskeyChallenge.used_at.is_(None),
                    PasskeyChallenge.expires_at > utcnow(),
                )
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        )

    if spend() != 1:
        raise PasskeyRejected
    # A refused answer rolls the request back; the challenge stays spent all the same, so a
    # wrong answer cannot be followed by another try at the same challenge.
    keep_on_refusal(spend)


def _challenge_of(client_data_json: bytes) -> bytes:
    try:
        challenge: bytes = parse_client_data_json(client_data_json).challenge
    except Exception as error:  # the library raises several kinds for malformed input
        raise PasskeyRejected from error
    return challenge


def verify_registration(user_session: UserSession, credential_json: str) -> Passkey:
    """Check the browser's answer to registration_options and return the new passkey
    (added to the session, not yet flushed)."""
    try:
        credential = parse_registration_credential_json(credential_json)
    except Exception as error:
        raise PasskeyRejected from error
    challenge = _challenge_of(credential.response.client_data_json)
    _spend(user_session, PasskeyPurpose.REGISTER, challenge)
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except Exception as error:
        raise PasskeyRejected from error
    taken = db.session.scalar(
        sa.select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise PasskeyRejected
    passkey = Passkey(
        user_id=user_session.user_id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )
    db.session.add(passkey)
    return passkey


def verify_assertion(
    user_session: UserSession, purpose: PasskeyPurpose, credential_json: str
) -> Passkey:
    """Check the browser's answer to authentication_options; return the passkey it used."""
    try:
        credential = parse_authentication_credential_json(credential_json)
    except Exception as error:
        raise PasskeyRejected from error
    challenge = _challenge_of(credential.response.client_data_json)
    _spend(user_session, purpose, challenge)
    passkey = db.session.scalar(
        sa.select(Passkey).where(
            Passkey.user_id == user_session.user_id, Passkey.credential_id == credential.raw_id
        )
    )
    if passkey is None:
        raise PasskeyRejected
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except Exception as error:
        raise PasskeyRejected from error
    # The counter moves forward in one guarded statement: of two answers signed with the
    # same count (a clone, or a replay racing the original), only one is taken. Passkeys
    # that count nothing (synced ones report 0) match only while the stored count is 0.
    new_count = verified.new_sign_count
    moved = rows_matched(
        db.session.execute(
            sa.update(Passkey)
            .where(
                Passkey.id == passkey.id,
                sa.or_(
                    Passkey.sign_count < new_count,
                    sa.and_(Passkey.sign_count == 0, sa.literal(new_count) == 0),
                ),
            )
            .values(sign_count=new_count, last_used_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    db.session.expire(passkey, ["sign_count", "last_used_at"])
    if moved != 1:
        raise PasskeyRejected
    return passkey
