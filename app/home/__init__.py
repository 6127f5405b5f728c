from flask import Blueprint

bp = Blueprint("home", __name__, url_prefix="/start")
