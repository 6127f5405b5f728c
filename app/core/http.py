"""Small HTTP conventions shared by every feature's views."""

from flask import request


def form_status() -> int:
    """A form shown again after a POST is a refusal of bad input: 400, not 200."""
    return 400 if request.method == "POST" else 200
