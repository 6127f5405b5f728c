"""Structured logs: one JSON object a line on stdout, each with the request's id.

What a log line may hold is decided here, not at each call: the time, the level, where it
came from, the message and the request's id, method and endpoint. Never the path (a path
can carry a single-use link), never an address, a username or a form's content; messages
are written by the portal's own code, which logs identifiers and classes, not values.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import traceback
from typing import Any

from flask import Flask, g, has_request_context, request

REQUEST_ID = "request_id"


class RequestContext(logging.Filter):
    """Adds the request's id, method and endpoint to every record logged during it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get(REQUEST_ID)
            record.method = request.method
            record.endpoint = request.endpoint
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "method", "endpoint")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: getattr(record, k) for k in self.FIELDS if getattr(record, k, None)})
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's class and where it was raised; its text can quote values.
            entry["error"] = record.exc_info[0].__name__
            entry["trace"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, ensure_ascii=False)


def init_logs(app: Flask) -> None:
    """JSON lines on stdout for real instances; tests keep pytest's own capture."""
    app.before_request(_new_request_id)
    if app.extensions["utvag.settings"].mode == "testing":
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    # One handler of ours however many applications the process creates.
    root.handlers = [h for h in root.handlers if not isinstance(h.formatter, JsonFormatter)]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # The development server logs every request line, path included (a path can carry a
    # single-use link): only its warnings and errors.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.logger.handlers.clear()
    app.logger.propagate = True


def _new_request_id() -> None:
    g.setdefault(REQUEST_ID, secrets.token_hex(8))
