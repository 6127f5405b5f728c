"""Authentication operations. Each one audits itself, flushes, and leaves the commit to
the request (or CLI command) that called it."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa

from app.audit.services import record, tally
from app.auth import passwords, totp
from app.auth.models import RecoveryCode, Role, User, UserSession
from app.auth.sessions import revoke, revoke_all, rotate_token, start_session
from app.core.clock import utcnow
from app.core.crypto import blind_index
from app.extensions import db
from app.orgs.models import Organisation

RECOVERY_CODE_COUNT = 10
# No 0/O, 1/I/L: codes are read off paper and typed on phones.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class LoginFailed(Exception):
    """Wrong username or password. Deliberately says nothing about which."""


class CodeRejected(Exception):
    """A one-time or recovery code was wrong, malformed or already used."""


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message is for the operator."""


class WeakPassword(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def normalise_username(username: str) -> str:
    return username.strip().lower()


def find_user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))


def authenticate(username: str, password: str) -> tuple[UserSession, str]:
    """Check a password and open a session that still needs its second factor."""
    # A name no account can have is not looked up: it may hold bytes (NUL) the database
    # refuses, and the answer is the same "wrong username or password" anyway.
    possible = USERNAME_PATTERN.fullmatch(normalise_username(username)) is not None
    user = find_user(username) if possible else None
    # The hash is verified even for unknown accounts so both failures cost the same time.
    password_ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        # Counted, not chained: anyone can send these without logging in (see
        # SecurityTally). The attempted username is never kept: people type passwords
        # into it.
        tally(
            "login.failed",
            account_id=user.id if user else None,
            organisation_id=user.organisation_id if user else None,
            scope="password",
        )
        raise LoginFailed
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        record("password.rehashed", subject=user, actor_id=user.id)
    user_session, token = start_session(user)
    record(
        "login.password_accepted",
        subject=user_session,
        actor_id=user.id,
        organisation_id=user.organisation_id,
    )
    return user_session, token


def _complete_login(user_session: UserSession, method: str) -> str:
    user = user_session.user
    now = utcnow()
    user_session.second_factor_at = now
    user_session.stepped_up_at = now
    user.last_login_at = now
    token = rotate_token(user_session)
    record(
        "login.succeeded",
        subject=user_session,
        actor_id=user.id,
        organisation_id=user.organisation_id,
        details={"method": method},
    )
    return token


def _accept_totp(user: User, code: str) -> bool:
    if user.totp_secret is None:
        return False
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


def _code_failed(user_session: UserSession, stage: str) -> None:
    record(
        "login.failed",
        subject=user_session,
        actor_id=user_session.user_id,
        organisation_id=user_session.user.organisation_id,
        details={"stage": stage},
    )


def verify_second_factor(user_session: UserSession, code: str) -> str:
    """Finish a login with a TOTP code; returns the session's new token."""
    if not _accept_totp(user_session.user, code):
        _code_failed(user_session, "totp")
        raise CodeRejected
    return _complete_login(user_session, "totp")


def _recovery_hash(code: str) -> str:
    # Recovery codes carry 50 random bits, so a keyed fast hash is enough and lets the
    # code be found by lookup; argon2 would cost ten slow verifications per attempt.
    return blind_index(code.replace("-", "").replace(" ", ""), "recovery-code")


def use_recovery_code(user_session: UserSession, code: str) -> str:
    """Finish a login with a single-use recovery code; returns the session's new token."""
    stored = db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user_session.user_id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if stored is None:
        _code_failed(user_session, "recovery_code")
        raise CodeRejected
    stored.used_at = utcnow()
    record(
        "recovery_code.used",
        subject=user_session.user,
        actor_id=user_session.user_id,
        organisation_id=user_session.user.organisation_id,
        details={"remaining": remaining_recovery_codes(user_session.user) - 1},
    )
    return _complete_login(user_session, "recovery_code")


def remaining_recovery_codes(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def _issue_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(raw)))
    db.session.flush()
    return codes


def offer_enrolment(user_session: UserSession) -> str:
    """The secret shown for enrolment; kept on the session until a code confirms it."""
    if user_session.pending_totp_secret is None:
        user_session.pending_totp_secret = totp.new_secret()
        db.session.flush()
    return user_session.pending_totp_secret


def confirm_enrolment(user_session: UserSession, code: str) -> tuple[str, list[str]]:
    """Save the second factor once a code from it is right; returns new token and codes."""
    user = user_session.user
    secret = user_session.pending_totp_secret
    step = totp.matching_step(secret, code, None) if secret else None
    if secret is None or step is None or user.totp_secret is not None:
        _code_failed(user_session, "enrolment")
        raise CodeRejected
    user.totp_secret = secret
    user.totp_last_step = step
    user_session.pending_totp_secret = None
    codes = _issue_recovery_codes(user)
    record("totp.enrolled", subject=user, actor_id=user.id, organisation_id=user.organisation_id)
    return _complete_login(user_session, "enrolment"), codes


def step_up(user_session: UserSession, code: str) -> None:
    """Re-prove the second factor before a sensitive action."""
    if not _accept_totp(user_session.user, code):
        _code_failed(user_session, "step_up")
        raise CodeRejected
    user_session.stepped_up_at = utcnow()
    record("session.stepped_up", subject=user_session)


def confirm_with_code(user_session: UserSession, code: str, purpose: str) -> None:
    """A person confirms a decision of theirs (say, a consent) with a fresh TOTP code."""
    if not _accept_totp(user_session.user, code):
        _code_failed(user_session, purpose)
        raise CodeRejected
    record("code.confirmed", subject=user_session, details={"purpose": purpose})


def regenerate_recovery_codes(user: User) -> list[str]:
    """Replace every recovery code; the old ones stop working at once."""
    codes = _issue_recovery_codes(user)
    record("recovery_codes.regenerated", subject=user)
    return codes


def change_password(user_session: UserSession, current_password: str, new_password: str) -> None:
    """Change a password and end every other session of the account."""
    user = user_session.user
    if not passwords.verify_password(user.password_hash, current_password):
        record("password.change_refused", subject=user)
        raise LoginFailed
    verdict = passwords.check_strength(new_password, user_inputs=[user.username])
    if not verdict.acceptable:
        raise WeakPassword(verdict.problems)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    record("password.changed", subject=user)
    revoke_all(user, "password_changed", keep=user_session)


def logout(user_session: UserSession) -> None:
    revoke(user_session, "logout")


def logout_everywhere(user: User) -> int:
    return revoke_all(user, "logout_everywhere")


def reset_second_factor(user: User) -> None:
    """Remove a lost second factor: the owner enrols anew at next login, everywhere logged out."""
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    record("totp.reset", subject=user, details={"user": str(user.id)})
    revoke_all(user, "second_factor_reset")


def set_active(user: User, active: bool) -> None:
    """Deactivate or reactivate an account; deactivation ends its sessions."""
    user.active = active
    record("user.activated" if active else "user.deactivated", subject=user)
    if not active:
        revoke_all(user, "account_inactive")


def create_user(
    username: str,
    password: str,
    role: Role,
    organisation: Organisation | None,
    *,
    totp_secret: str | None = None,
) -> User:
    """Create an account; staff need an organisation, clients must have none."""
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise AccountError("username: 3-64 characters, lowercase letters, digits, . _ -")
    if find_user(username) is not None:
        raise AccountError(f"the username {username!r} is taken")
    if role is Role.CLIENT and organisation is not None:
        raise AccountError("clients belong to no organisation")
    if role is not Role.CLIENT and organisation is None:
        raise AccountError("staff accounts need an organisation (--org)")
    verdict = passwords.check_strength(password, user_inputs=[username])
    if not verdict.acceptable:
        raise WeakPassword(verdict.problems)
    user = User(
        username=username,
        password_hash=passwords.hash_password(password),
        role=role,
        organisation=organisation,
        totp_secret=totp_secret,
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    record(
        "user.created",
        subject=user,
        organisation_id=organisation.id if organisation else None,
        details={"role": role.value},
    )
    return user
