"""The caseworker workspace: triage, cases, assessments, consent, interventions, deadlines."""

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/team")

from app.cases import views  # noqa: E402,F401  (routes register on import)
