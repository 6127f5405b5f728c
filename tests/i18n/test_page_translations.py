"""Templates translate through one catalogue per request and language, and still follow a
language forced for a mail and a language changed within the request."""

from __future__ import annotations

import flask_babel
from flask import g, render_template_string

from app.core.language import page_translations

PHRASE = "{{ _('Account security') }}"


def test_templates_follow_the_page_language_and_a_forced_one(app):
    with app.test_request_context("/?lang=en"):
        assert render_template_string(PHRASE) == "Account security"
        assert page_translations() is page_translations()  # found once
        with flask_babel.force_locale("sv"):  # a mail in its reader's language
            assert render_template_string(PHRASE) == "Kontosäkerhet"
        assert render_template_string(PHRASE) == "Account security"


def test_a_language_changed_within_the_request_is_followed(app):
    with app.test_request_context("/?lang=en"):
        assert render_template_string(PHRASE) == "Account security"
        g.locale = "sv"
        flask_babel.refresh()
        assert render_template_string(PHRASE) == "Kontosäkerhet"
