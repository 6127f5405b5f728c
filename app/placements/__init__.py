"""Relocation placements with partner municipalities and providers."""

from flask import Blueprint

bp = Blueprint("placements", __name__, url_prefix="/team")
partner_bp = Blueprint("partner", __name__, url_prefix="/partner")
