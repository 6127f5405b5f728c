"""Consent to share information, and the record of every disclosure made on it."""

from flask import Blueprint

bp = Blueprint("consent", __name__, url_prefix="/my/consents")
# The team's consent panel on the case file: recording a consent and its withdrawal.
team_bp = Blueprint("case_consent", __name__, url_prefix="/team")
