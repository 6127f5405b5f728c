"""Client self-service: registration, requests for help, status, the client's own data."""

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/my")
