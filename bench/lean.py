"""The reference for the case list: the same database work done the lean way.

bench/cases.py serves this beside the portal with the same gunicorn settings and measures
each page's throughput as a share of this one's. It answers the caseworker's case list as
the portal does and no cheaper:

- the session is looked up by the hash of the token in the portal's own signed cookie,
  together with its user and the user's organisation, and checked as the portal checks it
  (not revoked, second factor done, inside the idle and absolute timeouts, account and
  organisation active): one query;
- the site settings are read: one query;
- the caseworker's open cases with their caseworkers' names, newest first, one row more
  than the page (and the count when they do not fit on it): the portal's own SQL;
- the page is rendered by a precompiled Jinja template with the portal's header, language
  picker, navigation with the logout form and its CSRF token, the filter form, the table and
  the footer, in the language the portal would choose, with the portal's security headers.

What it leaves out is what the portal pays for its guarantees and its structure: a
connection check before each request, BEGIN and COMMIT, the ORM and its pool, Flask-Login,
WTForms, Flask-Babel's per-call look-ups, and the shared layout's context. One persistent
connection per worker in autocommit mode, statements prepared by psycopg.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from babel import Locale, dates
from babel.support import Translations
from flask import Flask, Response, abort, request, session
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.core.headers import STATIC_HEADERS

ROOT = Path(__file__).resolve().parent.parent
LOCAL_TIME = ZoneInfo("Europe/Stockholm")
STAFF_LANGUAGES = ("sv", "en")
PER_PAGE = 50
COUNT_LIMIT = 1000
# The portal's defaults (config.Settings): staff idle timeout and absolute timeout.
IDLE = timedelta(minutes=int(os.environ.get("STAFF_IDLE_TIMEOUT_MINUTES", "15")))
ABSOLUTE = timedelta(hours=int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT_HOURS", "10")))

SESSION_SQL = """
SELECT u.id, u.organisation_id, u.role, s.created_at, s.last_seen_at
FROM user_sessions s
JOIN users u ON u.id = s.user_id
LEFT JOIN organisations o ON o.id = u.organisation_id
WHERE s.token_hash = %s AND s.revoked_at IS NULL AND s.second_factor_at IS NOT NULL
  AND u.active AND (o.id IS NULL OR o.active)
"""
SETTINGS_SQL = "SELECT key, value FROM site_settings"
CASES_SQL = """
SELECT c.id, c.reference, c.status, c.protection_level, c.opened_at,
  (SELECT string_agg(n.username, ', ') FROM (
     SELECT u.username FROM users u JOIN case_assignments a ON a.user_id = u.id
     WHERE a.case_id = c.id ORDER BY a.created_at, u.username) AS n) AS assignees
FROM cases c
WHERE c.organisation_id = %(org)s
  AND c.id IN (SELECT case_id FROM case_assignments WHERE user_id = %(user)s)
  AND c.status != 'closed'
ORDER BY c.opened_at DESC, c.id
LIMIT %(limit)s
"""
COUNT_SQL = """
SELECT count(*) FROM (SELECT c.id FROM cases c
WHERE c.organisation_id = %(org)s
  AND c.id IN (SELECT case_id FROM case_assignments WHERE user_id = %(user)s)
  AND c.status != 'closed' LIMIT %(limit)s) AS counted
"""

# The words of the page, in each staff language, from the portal's own catalogues.
STATUS_WORDS = {
    "new": "New",
    "assessment": "Assessment",
    "consent": "Consent",
    "consultation": "Consultation",
    "intervention": "Intervention",
    "follow_up": "Follow-up",
    "closed": "Closed",
}
PROTECTION_WORDS = {
    "none": "None",
    "sekretessmarkering": "Confidentiality marking (sekretessmarkering)",
    "skyddad_folkbokforing": "Protected registration (skyddad folkbokföring)",
    "fingerade_personuppgifter": "Fictitious identity (fingerade personuppgifter)",
}
DEADLINE_WORDS = {"overdue": "Overdue", "week": "Due within 7 days"}

TEMPLATE = """<!doctype html>
<html lang="{{ locale }}" dir="ltr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="same-origin">
  <meta name="robots" content="noindex, nofollow">
  <title>{{ t("Cases") }} – {{ title }}</title>
  <link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
  <a class="skip-link" href="#main">{{ t("Skip to content") }}</a>
  <header class="site-header">
    <div class="wrap header-row">
      <a class="brand" href="/start/">Utväg</a>
      <nav aria-label="{{ t('Main menu') }}" class="main-nav">
        <a href="/start/">{{ t("Start") }}</a>
        <a href="/account/">{{ t("Account security") }}</a>
        <form method="post" action="/logout" class="inline">
          <input name="csrf_token" type="hidden" value="{{ csrf }}">
          <button type="submit" class="link-button">{{ t("Log out") }}</button>
        </form>
      </nav>
    </div>
    <nav aria-label="{{ t('Language') }}" class="wrap language-picker">
      <ul>
      {% for code, name in languages %}
        <li><a href="{{ path }}?lang={{ code }}" lang="{{ code }}" hreflang="{{ code }}"\
{% if code == locale %} aria-current="true"{% endif %}>{{ name }}</a></li>
      {% endfor %}
      </ul>
    </nav>
  </header>
  <main id="main" class="wrap" tabindex="-1">
<h1>{{ t("Cases") }}</h1>
<p><a class="button secondary" href="/team/cases/new">{{ t("New case") }}</a></p>
<form method="get" action="/team/cases" class="inline-form filters">
  <div class="field">
  <label for="reference">{{ t("Reference") }}</label>
  <input dir="auto" id="reference" maxlength="20" name="reference" type="text" value="">
</div>

{% for name, label, options in filters %}
  <div class="field">
  <label for="{{ name }}">{{ label }}</label>
  <select id="{{ name }}" name="{{ name }}">{% for value, text in options %}\
<option value="{{ value }}"{% if not value %} selected{% endif %}>{{ text }}</option>\
{% endfor %}</select>
</div>

{% endfor %}
  <button type="submit" class="secondary">{{ t("Filter") }}</button>
</form>
<p>{{ total_text }}</p>
<table>
  <thead><tr><th scope="col">{{ t("Reference") }}</th><th scope="col">{{ t("Status") }}</th>\
<th scope="col">{{ t("Protected identity") }}</th><th scope="col">{{ t("Opened") }}</th>\
<th scope="col">{{ t("Caseworkers") }}</th></tr></thead>
  <tbody>
  {% for id, reference, status, protection, opened, assignees in rows %}
    <tr>
      <td><a href="/team/cases/{{ id }}">{{ reference }}</a></td>
      <td>{{ statuses[status] }}</td>
      <td>{{ protections[protection] }}</td>
      <td>{{ day(opened) }}</td>
      <td>{{ assignees or "" }}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
<nav aria-label="{{ t('Pages') }}" class="actions">
  {% if has_next %}<a href="/team/cases?page=2">{{ t("Next") }}</a>{% endif %}
</nav>
  </main>
  <footer class="site-footer">
    <div class="wrap">
      <p>{{ t("In acute danger, call 112.") }}</p>
      <p><a href="/privacy">{{ t("Privacy notice") }}</a> · \
<a href="/accessibility">{{ t("Accessibility statement") }}</a></p>
    </div>
  </footer>
</body>
</html>
"""


class Words:
    """Everything the page says in one language, looked up once when the worker starts."""

    def __init__(self, locale: str) -> None:
        catalogue = Translations.load(str(ROOT / "app" / "translations"), [locale])
        self.t = catalogue.gettext
        self.statuses = {k: self.t(v) for k, v in STATUS_WORDS.items()}
        self.protections = {k: self.t(v) for k, v in PROTECTION_WORDS.items()}
        everything = self.t("All")
        self.filters = [
            (
                "status",
                self.t("Status"),
                [("", self.t("Open cases")), *self.statuses.items(), ("all", self.t("All cases"))],
            ),
            (
                "protection",
                self.t("Protected identity"),
                [("", everything), *self.protections.items()],
            ),
            (
                "deadline",
                self.t("Deadline"),
                [("", everything), *((k, self.t(v)) for k, v in DEADLINE_WORDS.items())],
            ),
        ]
        self.ngettext = catalogue.ngettext
        self.locale = locale


WORDS = {code: Words(code) for code in STAFF_LANGUAGES}
LANGUAGES = [
    (code, str(Locale.parse(code).get_display_name(code)).capitalize()) for code in STAFF_LANGUAGES
]
PAGE = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(TEMPLATE)


@functools.lru_cache(maxsize=4096)
def list_day(day: date, locale: str) -> str:
    return str(dates.format_date(day, "long", locale=locale))


app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "bench"),
    # The portal's cookie: production names it __Host-s.
    SESSION_COOKIE_NAME="__Host-s" if os.environ.get("UTVAG_ENV") == "production" else "s",
)
_local = threading.local()


def connection() -> psycopg.Connection[Any]:
    """One connection per worker thread, opened once and kept, in autocommit mode."""
    found: psycopg.Connection[Any] | None = getattr(_local, "connection", None)
    if found is None or found.closed:
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        found = psycopg.connect(url, autocommit=True)
        _local.connection = found
    return found


@app.get("/team/cases")
def cases() -> Response:
    token = session.get("sid")
    if not isinstance(token, str):
        abort(401)
    db = connection()
    found = db.execute(SESSION_SQL, (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
    now = datetime.now(UTC)
    if found is None or now - found[3] >= ABSOLUTE or now - found[4] >= IDLE:
        abort(401)
    user_id, organisation_id, role, _created, _seen = found
    if role != "caseworker":
        abort(403)  # the reference draws the caseworker's list only
    settings = {key: json.loads(value) for key, value in db.execute(SETTINGS_SQL).fetchall()}
    params = {"org": organisation_id, "user": user_id, "limit": PER_PAGE + 1}
    rows = db.execute(CASES_SQL, params).fetchall()
    total = len(rows)
    if total > PER_PAGE:
        params["limit"] = COUNT_LIMIT + 1
        total = db.execute(COUNT_SQL, params).fetchone()[0]  # type: ignore[index]
    remembered = session.get("lang")
    locale = (
        remembered
        if remembered in STAFF_LANGUAGES
        else request.accept_languages.best_match(STAFF_LANGUAGES) or "sv"
    )
    words = WORDS[locale]
    if total <= COUNT_LIMIT:
        total_text = words.ngettext("%(num)d case", "%(num)d cases", total) % {"num": total}
    else:
        total_text = words.t("More than %(num)d cases: narrow the search with the filters.") % {
            "num": COUNT_LIMIT
        }
    if "csrf_token" not in session:  # as Flask-WTF does: a raw token kept in the session
        session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
    csrf = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(  # type: ignore[arg-type]
        session["csrf_token"]
    )
    html = PAGE.render(
        locale=locale,
        t=words.t,
        title=settings.get("neutral_title") or "Kontakt",
        csrf=csrf,
        languages=LANGUAGES,
        path=request.path,
        filters=words.filters,
        total_text=total_text,
        rows=rows[:PER_PAGE],
        has_next=len(rows) > PER_PAGE,
        statuses=words.statuses,
        protections=words.protections,
        day=lambda moment: list_day(moment.astimezone(LOCAL_TIME).date(), locale),
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers.update(STATIC_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response
