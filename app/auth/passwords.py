"""Password hashing and strength rules."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

# argon2id, RFC 9106 style: 3 passes over 64 MiB with 2 lanes. One verify takes about
# 116 ms on the project's 2-core machine (80 ms with 2 passes, 224 ms with 1 lane).
# Changing these re-hashes each password at its owner's next login.
ARGON2_PARAMETERS = {
    "time_cost": 3,
    "memory_cost": 64 * 1024,
    "parallelism": 2,
    "hash_len": 32,
    "salt_len": 16,
    "type": Type.ID,
}
# Only for the test suite, where hundreds of logins would otherwise take minutes.
FAST_TEST_PARAMETERS = {**ARGON2_PARAMETERS, "time_cost": 1, "memory_cost": 1024, "parallelism": 1}

MIN_PASSWORD_LENGTH = 10
# Checked before hashing: argon2 would happily spend memory on a megabyte of "password".
MAX_PASSWORD_LENGTH = 256
# zxcvbn scores 0-4; 3 means "safely unguessable: moderate protection from offline attacks".
MIN_STRENGTH_SCORE = 3


@lru_cache(maxsize=2)
def _hasher(profile: str) -> PasswordHasher:
    parameters = FAST_TEST_PARAMETERS if profile == "fast-for-tests" else ARGON2_PARAMETERS
    return PasswordHasher(**parameters)  # type: ignore[arg-type]


def hasher() -> PasswordHasher:
    return _hasher(current_app.config["PASSWORD_HASH_PROFILE"])


@lru_cache(maxsize=2)
def _dummy_hash(profile: str) -> str:
    return _hasher(profile).hash("an unknown account still costs one verification")


def hash_password(password: str) -> str:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError("password too long to hash")
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Constant-cost check: an unknown account is verified against a dummy hash."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    target = stored_hash or _dummy_hash(current_app.config["PASSWORD_HASH_PROFILE"])
    try:
        hasher().verify(target, password)
    except (VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)


@dataclass(frozen=True)
class StrengthVerdict:
    acceptable: bool
    problems: list[str]


# zxcvbn explains itself in English; these are its warnings that people meet most, in
# words the catalogue can translate. Anything else falls back to the general advice.
_WARNINGS = {
    "This is a top-10 common password.": _l("This is one of the most common passwords."),
    "This is a top-100 common password.": _l("This is one of the most common passwords."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.": _l(
        "This is too similar to a commonly used password."
    ),
    "A word by itself is easy to guess.": _l("A single word is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l(
        "Names on their own are easy to guess."
    ),
    'Repeats like "aaa" are easy to guess.': _l("Repeated characters are easy to guess."),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        "Sequences like abc or 6543 are easy to guess."
    ),
    "Recent years are easy to guess.": _l("Years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are easy to guess."),
    "Straight rows of keys are easy to guess.": _l(
        "Rows of keys on the keyboard are easy to guess."
    ),
    "Short keyboard patterns are easy to guess.": _l("Keyboard patterns are easy to guess."),
}


def check_strength(password: str, *, user_inputs: list[str]) -> StrengthVerdict:
    """Judge a new password; the problems are translated sentences for the person typing it."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(str(_l("Use at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)))
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(str(_l("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH)))
        return StrengthVerdict(False, problems)
    result = zxcvbn(password, user_inputs=[*user_inputs, "utväg", "utvag"])
    if result["score"] < MIN_STRENGTH_SCORE:
        warning = result["feedback"].get("warning") or ""
        if warning in _WARNINGS:
            problems.append(str(_WARNINGS[warning]))
        problems.append(
            str(
                _l(
                    "This password would be easy to guess. A few unrelated words, "
                    "like a short sentence only you would think of, are strong "
                    "and easy to remember."
                )
            )
        )
    return StrengthVerdict(not problems, problems)
