"""Oversight: access-log review (more to come: statistics, retention, extracts)."""

from flask import Blueprint

bp = Blueprint("oversight", __name__, url_prefix="/team")

from app.oversight import grants, views  # noqa: E402,F401  (routes register on import)
