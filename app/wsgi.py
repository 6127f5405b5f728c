"""Entry point for gunicorn and `flask --app wsgi`."""

import sys

from app import create_app
from app.auth.cli import keys_only_app
from app.core.keycheck import KeyMismatch
from config import ConfigurationError, Settings, cannot_start


def _making_keys() -> bool:
    """`flask keys generate` must work where the portal cannot start for want of keys."""
    return "keys" in sys.argv[1:] and "generate" in sys.argv[1:]


try:
    app = create_app(Settings.from_env())
except (ConfigurationError, KeyMismatch) as error:
    if not _making_keys():
        cannot_start(error)
    app = keys_only_app()
