"""Configuration fails fast in production and invents secrets only in development."""

import pytest

from config import ConfigurationError, Settings

PRODUCTION = {
    "UTVAG_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "DATABASE_URL": "postgresql://db.internal/utvag",
    "FIELD_ENCRYPTION_KEYS": "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
    "BLIND_INDEX_KEY": "b" * 40,
    "AUDIT_KEY": "c" * 40,
    "BASE_URL": "https://utvag.malmo.example",
}


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
