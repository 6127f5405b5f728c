"""Entry point for gunicorn and `flask --app wsgi`."""

import sys

from app import create_app
from app.auth.cli import keys_only_app
from app.core.keycheck import KeyMismatch
from config import ConfigurationError

try:
    app = create_app()
except (ConfigurationError, KeyMismatch) as error:
    if sys.argv[1:] and sys.argv[-2:] in (["keys", "generate"], ["generate", "--all"]):
        # Making the keys must work where the portal cannot start for want of them.
        app = keys_only_app()
    else:
        # One line an operator can act on, not a traceback; exit status 3 also tells
        # gunicorn's master that a worker cannot boot, so it stops instead of retrying.
        print(f"utvag: refusing to start: {error}", file=sys.stderr)
        sys.exit(3)
