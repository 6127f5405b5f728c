"""Alerts: what happened on a person's cases and requests, and the opt-in notice mail."""

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

from app.alerts import views  # noqa: E402,F401  (routes register on import)
