from flask import Blueprint

bp = Blueprint("feedback", __name__)

from app.feedback import views  # noqa: E402,F401  (routes register on import)
