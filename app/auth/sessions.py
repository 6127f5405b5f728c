"""Server-side sessions: the cookie carries a random token, the database holds its state."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import abort, current_app, g, session

from app.audit.services import record
from app.auth.models import User, UserSession
from app.core.clock import as_utc, utcnow
from app.core.errors import keep_on_refusal
from app.extensions import db
from app.settings.models import SNAPSHOT_KEY, settings_snapshot

SESSION_KEY = "sid"
# Writing last_seen_at on every request would turn each page view into a write; a minute's
# slack on a 15-minute idle timeout is immaterial.
LAST_SEEN_GRANULARITY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def idle_timeout_for(user: User) -> timedelta:
    key = "STAFF_IDLE_TIMEOUT" if user.role.is_staff else "CLIENT_IDLE_TIMEOUT"
    timeout: timedelta = current_app.config[key]
    return timeout


def start_session(user: User) -> tuple[UserSession, str]:
    """Open a new half-authenticated session (password checked, second factor pending)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    user_session = UserSession(
        token_hash=hash_token(token), user=user, created_at=now, last_seen_at=now
    )
    db.session.add(user_session)
    db.session.flush()
    return user_session, token


def rotate_token(user_session: UserSession) -> str:
    """A new identifier whenever the session gains privilege, so a planted one is useless."""
    token = secrets.token_urlsafe(32)
    user_session.token_hash = hash_token(token)
    return token


# Carried across the identifier change at login: neither grants anything.
KEPT_ACROSS_LOGIN = ("lang", "after_login")


def bind_to_browser(token: str) -> None:
    # Clearing first drops anything an attacker may have planted before the login.
    kept = {key: session[key] for key in KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)
    session[SESSION_KEY] = token
    session.permanent = True
    g.pop("user_session", None)


def forget_in_browser() -> None:
    session.pop(SESSION_KEY, None)
    g.pop("user_session", None)


def revoke(user_session: UserSession, reason: str) -> None:
    if user_session.revoked_at is None:
        revoked_at = utcnow()
        user_session.revoked_at = revoked_at
        user_session.revoked_reason = reason
        session_id = user_session.id

        def revoke_again() -> None:
            # An expired session presented with a request that is then refused (a POST
            # answered 401) stays ended: its token must never work again.
            db.session.execute(
                sa.update(UserSession)
                .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
                .values(revoked_at=revoked_at, revoked_reason=reason)
            )

        keep_on_refusal(revoke_again)
        record(
            "session.revoked",
            subject=user_session,
            actor_id=g.get("actor_id") or user_session.user_id,
            organisation_id=user_session.user.organisation_id,
            details={"reason": reason, "user": str(user_session.user_id)},
        )


def revoke_all(user: User, reason: str, *, keep: UserSession | None = None) -> int:
    """End every open session of a user (but `keep`); returns how many were ended."""
    open_sessions = db.session.scalars(
        sa.select(UserSession).where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
        )
    ).all()
    ended = 0
    for user_session in open_sessions:
        if keep is not None and user_session.id == keep.id:
            continue
        revoke(user_session, reason)
        ended += 1
    return ended


def expiry_reason(user_session: UserSession) -> str | None:
    now = utcnow()
    if now - as_utc(user_session.created_at) >= current_app.config["ABSOLUTE_TIMEOUT"]:
        return "absolute_timeout"
    if now - as_utc(user_session.last_seen_at) >= idle_timeout_for(user_session.user):
        return "idle_timeout"
    return None


@functools.cache  # built once; each request binds its token's hash
def _session_query() -> sa.Select[UserSession, str | None]:
    # The site settings come in the same round trip: every page draws its layout with them.
    return sa.select(UserSession, settings_snapshot()).where(
        UserSession.token_hash == sa.bindparam("token_hash", type_=sa.String())
    )


def current_session() -> UserSession | None:
    """The browser's session if it is open, loaded once per request.

    Expired sessions are revoked (and audited) the first time they are presented, so the
    same token never works again even if the clock is turned back.
    """
    if "user_session" in g:
        cached: UserSession | None = g.user_session
        return cached
    g.user_session = None
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    found = db.session.execute(_session_query(), {"token_hash": hash_token(token)}).first()
    if found is None:
        forget_in_browser()
        return None
    user_session, snapshot = found
    if "site_settings" not in g:
        g.setdefault(SNAPSHOT_KEY, snapshot)  # the first read of the request stands
    if user_session.revoked_at is not None:
        forget_in_browser()
        return None
    reason = expiry_reason(user_session)
    if reason is None and not user_session.user.is_active:
        reason = "account_inactive"
    if reason is not None:
        revoke(user_session, reason)
        forget_in_browser()
        return None
    now = utcnow()
    if now - as_utc(user_session.last_seen_at) >= LAST_SEEN_GRANULARITY:
        user_session.last_seen_at = now
    g.user_session = user_session
    g.actor_id = user_session.user_id
    g.actor_organisation_id = user_session.user.organisation_id
    return user_session


def open_sessions_of(user: User) -> list[UserSession]:
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.last_seen_at.desc())
        )
    )


def require_session() -> UserSession:
    """The open session of this request; the guard has already refused requests without one."""
    user_session = current_session()
    if user_session is None:
        abort(401)
    return user_session
