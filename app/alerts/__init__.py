"""Alerts: what happened on a person's cases and requests, and the opt-in notice mail."""

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
