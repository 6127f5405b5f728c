"""Oversight: access-log review (more to come: statistics, retention, extracts)."""

from flask import Blueprint

bp = Blueprint("oversight", __name__, url_prefix="/team")
