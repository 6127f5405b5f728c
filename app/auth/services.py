"""Authentication operations. Each one audits itself, flushes, and leaves the commit to
the request (or CLI command) that called it."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import NoReturn

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.audit.services import record, tally
from app.auth import passkeys, passwords, totp
from app.auth.models import (
    Asker,
    Passkey,
    PasskeyPurpose,
    RecoveryCode,
    Role,
    User,
    UserSession,
)
from app.auth.passkeys import PasskeyRejected
from app.auth.sessions import revoke, revoke_all, rotate_token, start_session
from app.core.clock import as_utc, utcnow
from app.core.crypto import blind_index, blind_index_candidates
from app.core.db import rows_matched
from app.core.errors import keep_on_refusal
from app.core.outbox import enqueue_email
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


class FactorLocked(CodeRejected):
    """The account's authenticator codes are locked after too many wrong ones: only a
    recovery code or a reset of the second factor gets in now."""


class AlreadyEnrolled(Exception):
    """The account has a second factor already: a first one cannot be added again."""


class LastFactor(Exception):
    """Removing this factor would leave the account with no working second factor."""


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


def _changed(statement: sa.Update | sa.Delete) -> int:
    """Run a guarded UPDATE and say how many rows it changed: that count decides."""
    return rows_matched(db.session.execute(statement.execution_options(synchronize_session=False)))


def consume_totp_step(user: User, step: int) -> bool:
    """Claim one 30-second step of the account's codes; True for exactly one caller.

    A read ("is this step newer than the last one?") followed by a write lets every one of
    several simultaneous requests with the same code through. Here the check is the UPDATE's
    own condition: the database lets one request move the last step forward, and for every
    other one the row no longer matches (PostgreSQL re-reads it after the winner's commit;
    SQLite runs one writer at a time), so nothing changes and the code is refused. A locked
    factor matches no step at all, and a working code starts the count of wrong ones afresh.
    """
    claimed = _changed(
        sa.update(User)
        .where(
            User.id == user.id,
            User.totp_locked_at.is_(None),
            sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step, totp_failures=0)
    )
    db.session.expire(user, ["totp_last_step", "totp_failures"])
    return claimed == 1


def _accept_totp(user: User, code: str) -> bool:
    if user.totp_secret is None:
        return False
    step = totp.matching_step(user.totp_secret, code, user.totp_last_step)
    return step is not None and consume_totp_step(user, step)


def totp_locked(user: User) -> bool:
    return user.totp_locked_at is not None


def _code_failed(user_session: UserSession, stage: str, *, locked: bool = False) -> None:
    details: dict[str, str | bool] = {"stage": stage}
    if locked:
        details["locked"] = True
    record(
        "login.failed",
        subject=user_session,
        actor_id=user_session.user_id,
        organisation_id=user_session.user.organisation_id,
        details=details,
    )


def _count_totp_failure(user: User) -> bool:
    """Count one wrong code and lock the factor when the count reaches the cap; True if
    this failure is the one that locked it.

    Both are guarded statements, so simultaneous wrong codes are each counted (no update is
    lost to another's read) and exactly one of them locks, audits and tells the owner.
    """
    _changed(sa.update(User).where(User.id == user.id).values(totp_failures=User.totp_failures + 1))
    cap: int = current_app.config["TOTP_FAILURE_CAP"]
    locked = _changed(
        sa.update(User)
        .where(User.id == user.id, User.totp_locked_at.is_(None), User.totp_failures >= cap)
        .values(totp_locked_at=utcnow())
    )
    db.session.expire(user, ["totp_failures", "totp_locked_at"])
    return locked == 1


def _count_and_tell(user: User) -> None:
    """Count a wrong code; if it is the one that locks the codes, audit it and tell the owner."""
    if not _count_totp_failure(user):
        return
    record(
        "totp.locked",
        subject=user,
        actor_id=user.id,
        organisation_id=user.organisation_id,
        details={"failures": current_app.config["TOTP_FAILURE_CAP"]},
    )
    address = db.session.scalar(sa.select(User.notify_email).where(User.id == user.id))
    if not address:
        return
    # Nothing about the portal, the account's name or a case: the mailbox may be read by
    # others. The owner learns what happened and how to get in again.
    with force_locale(user.locale or "sv"):
        enqueue_email(
            address,
            _("A security notice about your account"),
            _(
                "Wrong codes were typed too many times when someone logged in to your account, "
                "so codes from your authenticator app no longer work for it. Log in with one "
                "of your recovery codes, or contact the team. If it was not you, someone may "
                "know your password: change it once you are logged in."
            ),
        )


def _check_totp(user_session: UserSession, code: str, stage: str) -> None:
    """Accept a fresh code from the account's authenticator, or raise CodeRejected (or
    FactorLocked, once wrong codes have reached the cap)."""
    user = user_session.user
    if totp_locked(user):
        # The code is not even looked at: a locked factor answers the same to right and wrong.
        _code_failed(user_session, stage, locked=True)
        raise FactorLocked
    if _accept_totp(user, code):
        return
    # Every caller answers a wrong code with a refusal (4xx), which rolls the request back:
    # the count is made here only to answer this request, and made for good (with the lock,
    # its audit event and the owner's notice, by whichever request reaches the cap) after
    # the rollback. Counted before the audit row: every path takes the account's row before
    # the chain's head, so two requests never wait on each other in opposite order.
    _count_totp_failure(user)
    keep_on_refusal(partial(_count_and_tell, user))
    _code_failed(user_session, stage)
    if totp_locked(user):
        raise FactorLocked
    raise CodeRejected


def verify_second_factor(user_session: UserSession, code: str) -> str:
    """Finish a login with a TOTP code; returns the session's new token."""
    _check_totp(user_session, code, "totp")
    return _complete_login(user_session, "totp")


def _recovery_hash(code: str) -> str:
    # Recovery codes carry 50 random bits, so a keyed fast hash is enough and lets the
    # code be found by lookup; argon2 would cost ten slow verifications per attempt.
    return blind_index(_recovery_text(code), "recovery-code")


def _recovery_hashes(code: str) -> list[str]:
    """The code's hash under every blind-index key: only the hash is kept, so a code
    made under an earlier key cannot be re-indexed and is found under that key."""
    return blind_index_candidates(_recovery_text(code), "recovery-code")


def _recovery_text(code: str) -> str:
    return code.replace("-", "").replace(" ", "")


def consume_recovery_code(user: User, code: str) -> bool:
    """Mark one unused recovery code of the account used; True for exactly one caller.

    Found and spent in one guarded statement, for the same reason as `consume_totp_step`:
    of several requests with the same code at the same moment, only one changes the row.
    """
    spent = _changed(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash.in_(_recovery_hashes(code)),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return spent == 1


def use_recovery_code(user_session: UserSession, code: str) -> str:
    """Finish a login with a single-use recovery code; returns the session's new token."""
    user = user_session.user
    if not consume_recovery_code(user, code):
        _code_failed(user_session, "recovery_code")
        raise CodeRejected
    # A recovery code proves the second factor too: the count of wrong codes starts again,
    # and a factor locked by them opens.
    unlocked = _changed(
        sa.update(User)
        .where(User.id == user.id, User.totp_locked_at.is_not(None))
        .values(totp_locked_at=None, totp_failures=0)
    )
    _changed(sa.update(User).where(User.id == user.id).values(totp_failures=0))
    db.session.expire(user, ["totp_failures", "totp_locked_at"])
    record(
        "recovery_code.used",
        subject=user,
        actor_id=user.id,
        organisation_id=user.organisation_id,
        details={"remaining": remaining_recovery_codes(user)},
    )
    if unlocked:
        record(
            "totp.unlocked",
            subject=user,
            actor_id=user.id,
            organisation_id=user.organisation_id,
            details={"by": "recovery_code"},
        )
    return _complete_login(user_session, "recovery_code")


def count_remaining_recovery_codes(user: Asker) -> sa.ScalarSelect[int]:
    return (
        sa.select(sa.func.count(RecoveryCode.id))
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .scalar_subquery()
    )


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(sa.select(count_remaining_recovery_codes(user))) or 0


def _issue_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _number in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _letter in range(10))
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


def _claim_enrolment(user: User, secret: str, step: int) -> bool:
    """Save a first second factor unless one is saved already; True for exactly one caller.

    Two sessions of a new account confirming their own offered secrets at once, or one
    confirming a code while another adds a first passkey, must not both succeed: the second
    would replace the recovery codes the first has just shown. The account's row is taken
    first (as enrol_first_passkey does), so the guarded update below starts after the other
    has committed and sees its secret or its passkey.
    """
    _hold_account(user)
    claimed = _changed(
        sa.update(User)
        .where(
            User.id == user.id,
            User.totp_secret.is_(None),
            ~sa.exists().where(Passkey.user_id == user.id),
        )
        .values(totp_secret=secret, totp_last_step=step)
    )
    db.session.expire(user, ["totp_secret", "totp_last_step", "has_totp"])
    return claimed == 1


def confirm_enrolment(user_session: UserSession, code: str) -> tuple[str, list[str]]:
    """Save the second factor once a code from it is right; returns new token and codes."""
    user = user_session.user
    secret = user_session.pending_totp_secret
    step = totp.matching_step(secret, code, None) if secret else None
    if secret is None or step is None or not _claim_enrolment(user, secret, step):
        _code_failed(user_session, "enrolment")
        raise CodeRejected
    user_session.pending_totp_secret = None
    codes = _issue_recovery_codes(user)
    record("totp.enrolled", subject=user, actor_id=user.id, organisation_id=user.organisation_id)
    return _complete_login(user_session, "enrolment"), codes


def has_passkeys(user: User) -> bool:
    return (
        db.session.scalar(sa.select(sa.func.count(Passkey.id)).where(Passkey.user_id == user.id))
        or 0
    ) > 0


def has_second_factor(user: User) -> bool:
    """Codes from an authenticator app, a passkey, or both."""
    return user.has_totp or has_passkeys(user)


def with_second_factor(users: Sequence[User]) -> set[uuid.UUID]:
    """The ids of those among `users` who have a second factor (as has_second_factor says):
    one query for a whole list, not one per account."""
    with_passkeys = set(
        db.session.scalars(
            sa.select(Passkey.user_id).where(Passkey.user_id.in_([u.id for u in users]))
        )
    )
    return {u.id for u in users if u.has_totp} | with_passkeys


def enrol_first_passkey(user_session: UserSession, credential_json: str) -> tuple[str, list[str]]:
    """A passkey as the account's first second factor, for someone without an authenticator
    app (a phone's screen lock is enough). Returns the session's new token and the recovery
    codes, as confirm_enrolment does.

    Raises AlreadyEnrolled when the account got a factor meanwhile (another tab), and
    PasskeyRejected when the browser's answer does not verify.
    """
    user = user_session.user
    # The account's row first, then a fresh look: a code confirmed in another session a
    # moment ago is seen here, and one confirmed later waits for this to commit.
    _hold_account(user)
    db.session.expire(user, ["totp_secret", "has_totp"])
    if has_second_factor(user):
        raise AlreadyEnrolled
    enrol_passkey(user_session, credential_json, first_factor=True)
    user_session.pending_totp_secret = None
    codes = _issue_recovery_codes(user)
    return _complete_login(user_session, "enrolment"), codes


def _passkey_failed(user_session: UserSession, stage: str) -> NoReturn:
    _code_failed(user_session, stage)
    raise PasskeyRejected


def log_in_with_passkey(user_session: UserSession, credential_json: str) -> str:
    """Finish a login with a passkey instead of a code; returns the session's new token.

    A passkey is a factor of its own: codes locked after wrong guesses do not lock it.
    """
    try:
        passkey = passkeys.verify_assertion(user_session, PasskeyPurpose.LOGIN, credential_json)
    except PasskeyRejected:
        _passkey_failed(user_session, "passkey")
    token = _complete_login(user_session, "passkey")
    record("passkey.used", subject=user_session.user, details={"passkey": str(passkey.id)})
    return token


def step_up_with_passkey(user_session: UserSession, credential_json: str) -> None:
    """Re-prove the second factor with a passkey before a sensitive action."""
    try:
        passkey = passkeys.verify_assertion(user_session, PasskeyPurpose.STEP_UP, credential_json)
    except PasskeyRejected:
        _passkey_failed(user_session, "step_up_passkey")
    user_session.stepped_up_at = utcnow()
    record(
        "session.stepped_up",
        subject=user_session,
        details={"method": "passkey", "passkey": str(passkey.id)},
    )


def enrol_passkey(
    user_session: UserSession, credential_json: str, *, first_factor: bool = False
) -> Passkey:
    """Add a passkey the browser has just created to the session's account (as its first
    second factor, at sign-up, when `first_factor`)."""
    user = user_session.user
    try:
        passkey = passkeys.verify_registration(user_session, credential_json)
    except PasskeyRejected:
        record("passkey.enrolment_refused", subject=user, actor_id=user.id)
        raise
    db.session.flush()
    details: dict[str, str | bool] = {"passkey": str(passkey.id)}
    if first_factor:
        details["first_factor"] = True
    record(
        "passkey.enrolled",
        subject=user,
        actor_id=user.id,
        organisation_id=user.organisation_id,
        details=details,
    )
    return passkey


def _hold_account(user: User) -> None:
    """Take the account's row for the rest of the transaction (a write that changes nothing).

    Two removals at once (two tabs, each removing a different passkey) would otherwise both
    see the other's passkey still there and leave the account with none: on PostgreSQL the
    second waits here for the first to commit, and SQLite runs one writer at a time.
    """
    _changed(sa.update(User).where(User.id == user.id).values(totp_failures=User.totp_failures))


def remove_passkey(user: User, passkey: Passkey) -> None:
    """Remove one of the account's passkeys, unless it is its last working second factor.

    Working means a passkey, or authenticator codes that are not locked: an account must
    always keep a way to finish a login that is not a recovery code.
    """
    _hold_account(user)
    others = sa.orm.aliased(Passkey)
    removed = _changed(
        sa.delete(Passkey).where(
            Passkey.id == passkey.id,
            Passkey.user_id == user.id,
            sa.or_(
                sa.exists().where(
                    User.id == user.id,
                    User.totp_secret.is_not(None),
                    User.totp_locked_at.is_(None),
                ),
                sa.exists().where(others.user_id == user.id, others.id != passkey.id),
            ),
        )
    )
    if removed != 1:
        record("passkey.removal_refused", subject=user, details={"passkey": str(passkey.id)})
        raise LastFactor
    record("passkey.removed", subject=user, details={"passkey": str(passkey.id)})


def step_up(user_session: UserSession, code: str) -> None:
    """Re-prove the second factor before a sensitive action."""
    _check_totp(user_session, code, "step_up")
    user_session.stepped_up_at = utcnow()
    record("session.stepped_up", subject=user_session)


def step_up_is_recent(user_session: UserSession) -> bool:
    stepped_up_at = user_session.stepped_up_at
    if stepped_up_at is None:
        return False
    validity: timedelta = current_app.config["STEP_UP_VALIDITY"]
    return utcnow() - as_utc(stepped_up_at) < validity


def confirm_with_code(user_session: UserSession, code: str | None, purpose: str) -> None:
    """A person confirms a decision of theirs (say, a consent) with a fresh TOTP code.

    An account without authenticator codes (its second factor is a passkey) confirms with
    its passkey instead: a step-up made in the last few minutes, which the page asked for
    before showing the decision (app.auth.stepup.decision_step_up).
    """
    if not user_session.user.has_totp:
        if not step_up_is_recent(user_session):
            _code_failed(user_session, purpose)
            raise CodeRejected
        record(
            "code.confirmed", subject=user_session, details={"purpose": purpose, "by": "passkey"}
        )
        return
    _check_totp(user_session, code or "", purpose)
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


def quick_exit(user_session: UserSession) -> None:
    """End the session of someone who left in a hurry (recorded apart from a logout)."""
    revoke(user_session, "quick_exit")


def logout_everywhere(user: User) -> int:
    return revoke_all(user, "logout_everywhere")


def reset_second_factor(user: User) -> None:
    """Remove a lost second factor: the owner enrols anew at next login, everywhere logged out."""
    user.totp_secret = None
    user.totp_last_step = None
    # A reset is also how an owner whose codes were locked (and who has no recovery code
    # left) gets in again: the new factor starts open, with no wrong codes counted.
    user.totp_failures = 0
    user.totp_locked_at = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    # A lost phone takes its passkeys with it: the owner starts again from nothing.
    db.session.execute(sa.delete(Passkey).where(Passkey.user_id == user.id))
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
