"""Configuration fails fast in production and invents secrets only in development."""

import os
import secrets
import subprocess
import sys

import pytest

from config import PROJECT_ROOT, ConfigurationError, Settings, check_key_strength, new_fernet_key

# Keys as an operator should make them (random), never typed-in stand-ins: those are refused.
PRODUCTION = {
    "UTVAG_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(32),
    "DATABASE_URL": "postgresql://db.internal/utvag",
    "FIELD_ENCRYPTION_KEYS": new_fernet_key(),
    "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    "AUDIT_KEY": secrets.token_hex(32),
    "BASE_URL": "https://utvag.malmo.example",
}
KEYS = ["SECRET_KEY", "BLIND_INDEX_KEY", "AUDIT_KEY"]


def test_production_starts_with_every_secret():
    settings = Settings.from_env(PRODUCTION)
    assert settings.is_production
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.secure_cookies
    assert not settings.demo_data


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "DATABASE_URL",
        "FIELD_ENCRYPTION_KEYS",
        "BLIND_INDEX_KEY",
        "AUDIT_KEY",
        "BASE_URL",
    ],
)
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


def test_the_default_mode_is_production():
    with pytest.raises(ConfigurationError):
        Settings.from_env({})


def test_production_refuses_demo_data():
    with pytest.raises(ConfigurationError, match="DEMO_DATA"):
        Settings.from_env({**PRODUCTION, "DEMO_DATA": "1"})


def test_development_generates_and_keeps_its_secrets(tmp_path):
    env = {"UTVAG_ENV": "development", "UTVAG_INSTANCE_PATH": str(tmp_path)}
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert first.secret_key == second.secret_key
    assert first.database_url.startswith("sqlite:///")
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert first.demo_data


def test_timeouts_are_configurable_and_checked():
    settings = Settings.from_env({**PRODUCTION, "STAFF_IDLE_TIMEOUT_MINUTES": "5"})
    assert settings.staff_idle_timeout.total_seconds() == 300
    with pytest.raises(ConfigurationError, match="whole number"):
        Settings.from_env({**PRODUCTION, "STAFF_IDLE_TIMEOUT_MINUTES": "soon"})


WEAK_KEYS = {
    "one letter": "x",
    "a letter forty times": "s" * 40,
    "a word again and again": "utvag-secret-" * 5,
    "16 bytes in hex": secrets.token_hex(16),
    "24 bytes in base64": secrets.token_urlsafe(24),
    "31 bytes": "A passphrase one byte too short",
}


@pytest.mark.parametrize("name", KEYS)
@pytest.mark.parametrize("weak", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_production_refuses_a_weak_key_and_names_it(name, weak):
    """Given SECRET_KEY=x (or another guessable key), production refuses to start, says which
    variable is at fault, and does not repeat the secret."""
    with pytest.raises(ConfigurationError, match=name) as refused:
        Settings.from_env({**PRODUCTION, name: weak})
    assert weak not in str(refused.value)


STRONG_KEYS = {
    "token_urlsafe(32)": secrets.token_urlsafe(32),
    "token_hex(32)": secrets.token_hex(32),
    "a Fernet key": new_fernet_key(),
    "32 bytes of a passphrase": "Tall, ek & björk vid havet i Malmö!",
}


@pytest.mark.parametrize("strong", STRONG_KEYS.values(), ids=STRONG_KEYS.keys())
def test_production_accepts_keys_of_32_random_bytes(strong):
    settings = Settings.from_env({**PRODUCTION, **dict.fromkeys(KEYS, strong)})
    assert settings.secret_key == settings.audit_key == strong


MALFORMED_FIELD_KEYS = {
    "not base64": "not a key at all, not even close!",
    "16 bytes": secrets.token_urlsafe(16) + "=",
    "33 bytes": secrets.token_urlsafe(33),
    "a bad second key": new_fernet_key() + ",abc",
    "all zeros": "A" * 43 + "=",
    "a repeated piece": "a2V5" * 10 + "a2U=",
}


@pytest.mark.parametrize(
    "malformed", MALFORMED_FIELD_KEYS.values(), ids=MALFORMED_FIELD_KEYS.keys()
)
def test_production_refuses_malformed_field_encryption_keys(malformed):
    with pytest.raises(ConfigurationError, match="FIELD_ENCRYPTION_KEYS") as refused:
        Settings.from_env({**PRODUCTION, "FIELD_ENCRYPTION_KEYS": malformed})
    assert malformed not in str(refused.value)


def test_development_also_refuses_a_field_key_that_cannot_encrypt(tmp_path):
    env = {"UTVAG_ENV": "development", "UTVAG_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="FIELD_ENCRYPTION_KEYS"):
        Settings.from_env({**env, "FIELD_ENCRYPTION_KEYS": "abc"})
    # A trial installation may use simple keys of its own for the others.
    assert Settings.from_env({**env, "SECRET_KEY": "x"}).secret_key == "x"


def test_the_generated_key_satisfies_every_rule(app):
    generated = app.test_cli_runner().invoke(args=["keys", "generate"]).output.strip()
    for name in KEYS:
        check_key_strength(name, generated)
    env = {**PRODUCTION, **dict.fromkeys(KEYS, generated)}
    env["FIELD_ENCRYPTION_KEYS"] = f"{generated},{PRODUCTION['FIELD_ENCRYPTION_KEYS']}"
    assert Settings.from_env(env).field_encryption_keys[0] == generated


def test_the_server_stops_with_one_sentence_not_a_traceback():
    """Given gunicorn (or flask) loading wsgi.py with a weak AUDIT_KEY, the process ends
    with a message naming the variable and the status gunicorn reads as "cannot load"."""
    weak = "audit" * 9
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("UTVAG_", "DATABASE_", "SECRET_", "FIELD_", "BLIND_", "AUDIT_"))
    }
    env.update({**PRODUCTION, "AUDIT_KEY": weak, "PYTHONPATH": str(PROJECT_ROOT)})
    started = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert started.returncode == 4
    assert "AUDIT_KEY is too weak" in started.stderr
    assert "Traceback" not in started.stderr
    assert weak not in started.stderr
    assert len(started.stderr.strip().splitlines()) == 1
