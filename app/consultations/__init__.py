"""Multi-agency consultations around a case, and the actions that come out of them."""

from flask import Blueprint

bp = Blueprint("consultations", __name__, url_prefix="/team")
agency_bp = Blueprint("agency", __name__, url_prefix="/agency")
join_bp = Blueprint("join", __name__)
