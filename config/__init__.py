"""Typed settings read from the environment.

Production refuses to start without its secrets; only the explicit development
mode may invent secrets (kept under ``instance/``) and seed demo data.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal, NoReturn
from urllib.parse import urlsplit

Mode = Literal["development", "production", "testing"]
SmtpSecurity = Literal["none", "starttls", "tls"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"

# Every listed language of the public side; staff pages speak only the first two.
PUBLIC_LANGUAGES: tuple[str, ...] = ("sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti")
STAFF_LANGUAGES: tuple[str, ...] = ("sv", "en")


class ConfigurationError(RuntimeError):
    """The environment does not describe a safe, complete configuration."""


def new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


# Keys that sign sessions (SECRET_KEY), key the blind indexes and recovery-code hashes
# (BLIND_INDEX_KEY) and the audit chain's HMAC (AUDIT_KEY) must be too strong to guess:
# at least 32 bytes (256 bits) of entropy, as `secrets.token_urlsafe(32)` gives.
MIN_KEY_BYTES = 32
# Entropy cannot be measured from one value, so it is judged crudely and conservatively:
# - A value written only in the hex alphabet counts 4 bits a character, one written only in
#   the base64 alphabets (standard or URL-safe, padding ignored) 6 bits, anything else 8
#   (raw bytes): that is the decoded length of a hex or base64 key, and the byte length of
#   any other value. So 64 hex digits, 43 base64 characters or 32 arbitrary bytes pass.
# - Values a person typed rather than generated are caught by their repetition: fewer than
#   MIN_DISTINCT_CHARACTERS different characters ("x" * 40, "0000...") or a shorter piece
#   repeated ("secretsecretsecret...") is refused whatever its length. (A random key of this
#   length practically always has 16 or more different characters.)
# This rejects the obvious mistakes; it cannot prove a key random. Generate keys with
# `flask keys generate` or `python -c "import secrets; print(secrets.token_urlsafe(32))"`.
MIN_DISTINCT_CHARACTERS = 10
_HEX = re.compile(r"[0-9a-fA-F]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]+")


def key_entropy_bytes(value: str) -> int:
    """The bytes of entropy a key is credited with (see MIN_KEY_BYTES); 0 if repetitive."""
    if len(set(value)) < MIN_DISTINCT_CHARACTERS or _repeats(value):
        return 0
    unpadded = value.rstrip("=")
    if _HEX.fullmatch(unpadded) and unpadded == value:
        return len(value) * 4 // 8
    if _BASE64.fullmatch(unpadded):
        return len(unpadded) * 6 // 8
    return len(value.encode())


def _repeats(value: str) -> bool:
    """Whether the value is a shorter piece written again and again (the last time perhaps
    cut short): its smallest period, found by the prefix function, is at most half of it."""
    border = [0] * len(value)
    for i in range(1, len(value)):
        k = border[i - 1]
        while k and value[i] != value[k]:
            k = border[k - 1]
        border[i] = k + 1 if value[i] == value[k] else k
    return bool(value) and len(value) - border[-1] <= len(value) // 2


def check_key_strength(name: str, value: str) -> None:
    if key_entropy_bytes(value) < MIN_KEY_BYTES:
        # The value itself is never echoed: it is a secret, and messages end up in logs.
        raise ConfigurationError(
            f"{name} is too weak: production needs at least {MIN_KEY_BYTES} random bytes"
            ' (for instance 43 characters from `python -c "import secrets;'
            ' print(secrets.token_urlsafe(32))"`).'
        )


def check_field_keys(keys: tuple[str, ...], *, production: bool) -> None:
    """Every key must be a Fernet key (32 bytes in URL-safe base64); in production, not a
    repetitive one either."""
    for number, key in enumerate(keys, start=1):
        try:
            decoded = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            decoded = b""
        weak = production and (len(set(key)) < MIN_DISTINCT_CHARACTERS or _repeats(key))
        if len(decoded) != 32 or not _BASE64.fullmatch(key.rstrip("=")) or weak:
            raise ConfigurationError(
                f"FIELD_ENCRYPTION_KEYS: key {number} of {len(keys)} is not a usable key;"
                " each must be 32 random bytes in URL-safe base64, as `flask keys generate`"
                " prints, keys separated by commas."
            )


@dataclass(frozen=True)
class Settings:
    mode: Mode
    secret_key: str
    database_url: str
    # Newest key first: it encrypts; every key decrypts, so old rows stay readable until
    # `flask keys rotate` re-encrypts them.
    field_encryption_keys: tuple[str, ...]
    blind_index_key: str
    audit_key: str
    # Keys that were BLIND_INDEX_KEY before the current one: lookups try them after the
    # current key until `flask keys reindex` has recomputed every index under it (and
    # recovery codes, stored only as keyed hashes, are found with them for as long as
    # they are kept).
    blind_index_previous_keys: tuple[str, ...] = ()
    # Keys that were AUDIT_KEY before the current one: `flask audit verify` checks the
    # events of each earlier key epoch with them.
    audit_previous_keys: tuple[str, ...] = ()
    instance_path: Path = DEFAULT_INSTANCE_PATH
    # Where people reach the portal: every link it writes into a mail or a calendar file
    # starts here, never with the Host header of the request that caused the mail.
    base_url: str = "http://127.0.0.1:5000"
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True
    login_limit_per_account: str = "10 per 15 minutes"
    login_limit_per_address: str = "30 per 15 minutes"
    code_limit_per_user: str = "6 per 5 minutes"
    # Wrong second-factor codes an account may collect before its authenticator codes are
    # locked (the count starts again whenever a code or a recovery code works). A guess hits
    # at most 3 in 10^6 (a code from the current step or one either side), so someone with
    # the password has at most 20 x 3/10^6 = 0.006 % between two of the owner's logins;
    # the rate limit alone allows 6 tries every 5 minutes, about 15 % a month.
    totp_failure_cap: int = 20
    staff_idle_timeout: timedelta = timedelta(minutes=15)
    client_idle_timeout: timedelta = timedelta(minutes=30)
    absolute_timeout: timedelta = timedelta(hours=10)
    step_up_validity: timedelta = timedelta(minutes=5)
    trusted_proxy_count: int = 0
    secure_cookies: bool = True
    demo_data: bool = False
    public_languages: tuple[str, ...] = PUBLIC_LANGUAGES
    staff_languages: tuple[str, ...] = STAFF_LANGUAGES
    quick_exit_url: str = "https://www.svt.se/"
    neutral_title: str = "Kontakt"
    team_phone: str = "040-34 10 00"
    # How to reach the data protection officer (the privacy notice shows it); an
    # administrator's setting overrides it.
    dpo_contact: str = ""
    # Slug of the exit team that receives self-service requests; None: the only exit team.
    intake_organisation: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "no-reply@utvag.invalid"
    # How the outbox talks to the mail server: mail carries single-use links, so anything
    # but a relay on the same host should be "starttls" or "tls", with a login.
    smtp_security: SmtpSecurity = "none"
    smtp_username: str | None = None
    smtp_password: str | None = None
    # A CA file for a relay whose certificate a private authority issued.
    smtp_ca_file: str | None = None
    # A representative sees a consultation this long after it, except actions still open.
    consultation_access_days: int = 14
    max_content_length: int = 1024 * 1024
    # "fast-for-tests" swaps the production argon2 constant for a cheap one in the suite.
    password_hash_profile: Literal["standard", "fast-for-tests"] = "standard"  # noqa: S105

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings; production without its secrets is an error, not a fallback."""
        env = os.environ if environ is None else environ
        mode_raw = env.get("UTVAG_ENV", "production")
        if mode_raw not in ("development", "production"):
            raise ConfigurationError(
                f"UTVAG_ENV must be 'development' or 'production', not {mode_raw!r}."
            )
        mode: Mode = "development" if mode_raw == "development" else "production"
        instance_path = Path(env.get("UTVAG_INSTANCE_PATH", str(DEFAULT_INSTANCE_PATH)))

        if mode == "production":
            missing = [
                name
                for name in (
                    "SECRET_KEY",
                    "DATABASE_URL",
                    "FIELD_ENCRYPTION_KEYS",
                    "BLIND_INDEX_KEY",
                    "AUDIT_KEY",
                    "BASE_URL",
                )
                if not env.get(name)
            ]
            if missing:
                raise ConfigurationError(
                    "Utväg will not start in production without "
                    + ", ".join(missing)
                    + ". Set them in the environment (see README, 'Configuration'),"
                    " or set UTVAG_ENV=development for a local trial."
                )
            if _flag(env.get("DEMO_DATA")):
                raise ConfigurationError("DEMO_DATA is refused in production.")
            dev_secrets: dict[str, str] = {}
        else:
            dev_secrets = _development_secrets(instance_path)

        def secret(name: str) -> str:
            value = env.get(name) or dev_secrets[name]
            if mode == "production" and name != "FIELD_ENCRYPTION_KEYS":
                check_key_strength(name, value)
            return value

        field_keys = _split_keys(secret("FIELD_ENCRYPTION_KEYS"))
        check_field_keys(field_keys, production=mode == "production")

        database_url = env.get("DATABASE_URL") or (f"sqlite:///{instance_path / 'utvag.sqlite3'}")
        base_url = env.get("BASE_URL") or f"http://127.0.0.1:{_int(env, 'PORT', 5000)}"
        return cls(
            mode=mode,
            secret_key=secret("SECRET_KEY"),
            database_url=normalise_database_url(database_url),
            field_encryption_keys=field_keys,
            blind_index_key=secret("BLIND_INDEX_KEY"),
            audit_key=secret("AUDIT_KEY"),
            blind_index_previous_keys=_previous_keys(env, "BLIND_INDEX_PREVIOUS_KEYS"),
            audit_previous_keys=_previous_keys(env, "AUDIT_PREVIOUS_KEYS"),
            instance_path=instance_path,
            base_url=checked_base_url(base_url, require_https=mode == "production"),
            ratelimit_storage_uri=env.get("RATELIMIT_STORAGE_URI", "memory://"),
            staff_idle_timeout=timedelta(minutes=_int(env, "STAFF_IDLE_TIMEOUT_MINUTES", 15)),
            client_idle_timeout=timedelta(minutes=_int(env, "CLIENT_IDLE_TIMEOUT_MINUTES", 30)),
            absolute_timeout=timedelta(hours=_int(env, "SESSION_ABSOLUTE_TIMEOUT_HOURS", 10)),
            trusted_proxy_count=_int(env, "TRUSTED_PROXY_COUNT", 0),
            secure_cookies=mode == "production",
            demo_data=mode == "development" and _flag(env.get("DEMO_DATA", "1")),
            quick_exit_url=env.get("QUICK_EXIT_URL", "https://www.svt.se/"),
            neutral_title=env.get("NEUTRAL_TITLE", "Kontakt"),
            team_phone=env.get("TEAM_PHONE", "040-34 10 00"),
            dpo_contact=env.get("DPO_CONTACT", ""),
            intake_organisation=env.get("INTAKE_ORGANISATION") or None,
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int(env, "SMTP_PORT", 25),
            smtp_sender=env.get("SMTP_SENDER", "no-reply@utvag.invalid"),
            smtp_security=_smtp_security(env.get("SMTP_SECURITY", "none")),
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_ca_file=env.get("SMTP_CA_FILE") or None,
            consultation_access_days=_int(env, "CONSULTATION_ACCESS_DAYS", 14),
        )


def checked_base_url(raw: str, *, require_https: bool) -> str:
    """The portal's address without a trailing slash; anything that is not one is refused."""
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    allowed = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(
            "BASE_URL must be the address people open the portal at, like "
            f"https://utvag.example.se{'' if require_https else ' (or http:// locally)'}"
            f", not {raw!r}."
        )
    if parts.username or parts.password:
        raise ConfigurationError("BASE_URL must not hold a user name or password.")
    return url


def cannot_start(reason: Exception) -> NoReturn:
    """Say in one line why the portal will not start, and exit.

    A traceback would bury the sentence (and tempt someone to read the code for a
    workaround). Exit status 4 is what gunicorn's arbiter reads as "the application cannot
    load": it stops instead of starting workers that fail the same way again and again.
    """
    print(f"Utväg cannot start: {reason}", file=sys.stderr)
    raise SystemExit(4) from None


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the operator gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _split_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise ConfigurationError("FIELD_ENCRYPTION_KEYS holds no key.")
    return keys


def _previous_keys(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Earlier keys, comma-separated (keys from `flask keys generate --all` hold no comma).

    They are not judged for strength: each was the current key once, and judged then.
    """
    return tuple(k.strip() for k in env.get(name, "").split(",") if k.strip())


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _smtp_security(raw: str) -> SmtpSecurity:
    choices: dict[str, SmtpSecurity] = {"none": "none", "starttls": "starttls", "tls": "tls"}
    if raw in choices:
        return choices[raw]
    raise ConfigurationError(f"SMTP_SECURITY must be none, starttls or tls, not {raw!r}.")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from exc
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative.")
    return value


def private_directory(path: Path) -> None:
    """Create `path` readable by its owner only, and close an existing one that is not.

    The development database and its secrets live here: on a shared machine, the default
    umask would let every local account copy them.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def _development_secrets(instance_path: Path) -> dict[str, str]:
    """Create once, then reuse, the secrets of a local development installation."""
    private_directory(instance_path)
    path = instance_path / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    generated = {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "FIELD_ENCRYPTION_KEYS": new_fernet_key(),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(48),
        "AUDIT_KEY": secrets.token_urlsafe(48),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(generated, handle)
    return generated
