"""Consent to share information, and the record of every disclosure made on it."""

from flask import Blueprint

bp = Blueprint("consent", __name__, url_prefix="/my/consents")
