"""The caseworker workspace: triage, cases, assessments, consent, interventions, deadlines."""

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/team")
