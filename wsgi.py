"""Entry point for `flask --app wsgi` in a checkout; installed, the portal is `app.wsgi:app`."""

from app.wsgi import app

__all__ = ["app"]
