from flask import Blueprint

bp = Blueprint("messages", __name__)

from app.messages import views  # noqa: E402,F401  (routes register on import)
