"""The page's language and its catalogue, found once per request.

flask_babel looks the request's context up through two proxies on every call; a case file
asks for its language some forty times (each date, list and label) and for its words some
hundreds. What flask_babel chose is kept on its own per-request state, so these read it
there and ask flask_babel only the first time; force_locale (a mail in its reader's
language) and refresh() change that state, so they are followed at once.
"""

from __future__ import annotations

import flask_babel
from babel import Locale
from babel.support import NullTranslations
from flask import g

DEFAULT_LOCALE = "sv"  # the team's language: commands, and a page before any choice
_DEFAULT = Locale.parse(DEFAULT_LOCALE)


def page_locale() -> Locale:
    try:
        chosen: Locale | None = g._flask_babel.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet, or no application context
        chosen = None
    return chosen or flask_babel.get_locale() or _DEFAULT


def page_translations() -> NullTranslations:
    """The catalogue of the page's language, as flask_babel.get_translations gives it, found
    once per request and language instead of on each of a page's hundreds of strings.

    flask_babel looks the request's context, domain and locale up again for every string
    (about 5 µs each). The answer is kept beside flask_babel's own per-request state and
    tied to the locale it was found for, so force_locale (a mail in its reader's language)
    and refresh() still change it at once.
    """
    try:
        state = g._flask_babel
    except (AttributeError, RuntimeError):  # before the first look-up, or no request at all
        found: NullTranslations = flask_babel.get_translations()
        return found
    locale = getattr(state, "babel_locale", None)
    kept = getattr(state, "page_translations", None)
    if locale is not None and kept is not None and kept[0] is locale:
        translations: NullTranslations = kept[1]
        return translations
    translations = flask_babel.get_translations()
    state.page_translations = (getattr(state, "babel_locale", None), translations)
    return translations
