from flask import Blueprint

bp = Blueprint("home", __name__, url_prefix="/start")

from app.home import views  # noqa: E402,F401  (routes register on import)
