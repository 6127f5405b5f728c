"""Logs are JSON lines with the request's id, and carry nothing a person typed: no path
(single-use links live in paths), no exception text (it can quote values)."""

from __future__ import annotations

import json
import logging
import sys

from app.core.logs import JsonFormatter, RequestContext


def test_a_line_names_the_request_and_not_what_was_in_it(app):
    formatter, context = JsonFormatter(), RequestContext()
    with app.test_request_context("/join/a-single-use-token", method="GET"):
        app.preprocess_request()
        typed = "anna.andersson"  # what a person typed, quoted by a driver's error
        try:
            raise ValueError(f"duplicate key (username)=({typed})")
        except ValueError:
            record = logging.LogRecord(
                "app.core.errors", logging.ERROR, __file__, 1, "unhandled error", None,
                exc_info=sys.exc_info(),
            )  # fmt: skip
        context.filter(record)
        line = formatter.format(record)
    entry = json.loads(line)
    assert entry["message"] == "unhandled error"
    assert entry["method"] == "GET" and entry["endpoint"] == "join.join"
    assert len(entry["request_id"]) == 16
    assert entry["error"] == "ValueError"
    assert "a-single-use-token" not in line
    assert "anna.andersson" not in line
