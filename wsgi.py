"""Entry point for gunicorn and `flask --app wsgi`."""

from app import create_app
from config import settings_or_exit

app = create_app(settings_or_exit())
