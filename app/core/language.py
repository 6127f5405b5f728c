"""The page's language as a Babel Locale, found once per request.

flask_babel.get_locale looks the request's context up through two proxies on every call;
a case file asks for its language some forty times (each date, list and label). The Locale
it chose is kept on the same per-request state, so this reads it there and asks flask_babel
only for the first time; force_locale (a mail in its reader's language) sets that state
too, so it is followed at once.
"""

from __future__ import annotations

import flask_babel
from babel import Locale
from flask import g

DEFAULT_LOCALE = Locale.parse("sv")


def page_locale() -> Locale:
    try:
        chosen: Locale | None = g._flask_babel.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet, or no application context
        chosen = None
    return chosen or flask_babel.get_locale() or DEFAULT_LOCALE
