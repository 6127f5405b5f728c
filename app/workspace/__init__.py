"""The case file: one page that puts the features' panels of a case together.

It stands above the features (cases, consent, consultations, placements, intake) and
imports their panels; none of them imports it. Each panel's form and POST route belong to
its feature, which reaches this page through app/core/panels.py.
"""

from flask import Blueprint

bp = Blueprint("workspace", __name__, url_prefix="/team")
