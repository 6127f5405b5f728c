"""Locale choice, text direction, and the `flask translate` command group."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import click
import flask_babel
from babel import Locale, dates
from babel.lists import format_list
from flask import Flask, current_app, g, has_request_context, request, session
from flask.cli import AppGroup
from flask_login import current_user

from app.core.clock import LOCAL_TIME, as_utc
from app.core.language import DEFAULT_LOCALE, page_locale
from app.settings import services as site_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"
POT_FILE = TRANSLATIONS / "messages.pot"
BABEL_CFG = PROJECT_ROOT / "babel.cfg"


def available_languages() -> tuple[str, ...]:
    """Staff pages speak Swedish and English; everyone else may choose any public language."""
    if current_user.is_authenticated and current_user.role.is_staff:
        staff: tuple[str, ...] = current_app.config["STAFF_LANGUAGES"]
        return staff
    return site_settings.current().enabled_languages


def select_locale() -> str:
    """?lang= (remembered), then the session, then Accept-Language, then Swedish."""
    if not has_request_context():
        return DEFAULT_LOCALE  # commands speak the team's language
    if "locale" in g:
        chosen: str = g.locale
        return chosen
    languages = available_languages()
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
    remembered = session.get("lang")
    if remembered in languages:
        locale: str = remembered
    else:
        locale = request.accept_languages.best_match(languages) or DEFAULT_LOCALE
    g.locale = locale
    return locale


def text_direction(locale: str) -> str:
    return str(Locale.parse(locale).text_direction)


def language_name(code: str) -> str:
    """A language named in itself, so people find theirs whatever page language is shown."""
    return str(Locale.parse(code).get_display_name(code)).capitalize()


# Dates show their month in words ("12 juni 2026", "ሰነ 12, 2026"): figures alone read
# differently across the languages served (12/6/26 is June in one and December in another),
# and a misread meeting or deadline date can put someone in the wrong place.
DATE_FORMAT = "long"
TIME_FORMAT = "short"


# Straight to Babel with the page's Locale: flask_babel's own format_date looks the request's
# locale, time zone and configured formats up again for each of a page's dozens of dates.
# Stored moments are UTC (SQLite hands them back naive); the team's local time shows them.


def local_date(value: date | datetime | None) -> str:
    """A day in the page's language, month in words (a moment is shown in local time)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = as_utc(value).astimezone(LOCAL_TIME)
    return str(dates.format_date(value, DATE_FORMAT, locale=page_locale()))


def local_datetime(value: datetime | None) -> str:
    """A moment in local time, in the page's language: its day as local_date, then the hour."""
    if value is None:
        return ""
    locale = page_locale()
    local = as_utc(value).astimezone(LOCAL_TIME)
    pattern = str(dates.get_datetime_format("medium", locale=locale)).replace("'", "")
    hour = str(dates.format_time(local, TIME_FORMAT, locale=locale))
    return pattern.replace("{1}", local_date(local)).replace("{0}", hour)


def local_number(value: float | int | None, digits: int = 1) -> str:
    """A measured figure in the page's language, with `digits` decimals: "11,0" in Swedish,
    "11.0" in English. Blank when there is none."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(flask_babel.format_decimal(value, format=pattern))


def local_list(items: Iterable[object]) -> str:
    """Names or labels joined as the page's language joins a list ("a, b och c", "a، b و c")."""
    words = [str(item) for item in items if item not in (None, "")]
    return format_list(words, locale=page_locale()) if words else ""


def init_i18n(app: Flask) -> None:
    app.cli.add_command(translate_cli)


translate_cli = AppGroup("translate", help="Extract, update and compile message catalogues.")


def _pybabel(*args: str) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    if subprocess.run(command, cwd=PROJECT_ROOT, check=False).returncode != 0:  # noqa: S603
        raise click.ClickException("pybabel " + args[0] + " failed")


@translate_cli.command("extract")
def extract() -> None:
    """Collect every translatable string into app/translations/messages.pot."""
    _pybabel(
        "extract",
        "-F",
        str(BABEL_CFG),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "--omit-header",
        "-o",
        str(POT_FILE),
        ".",
    )


@translate_cli.command("update")
def update() -> None:
    """Extract, then merge new strings into every language's catalogue."""
    extract.callback()  # type: ignore[misc]
    _pybabel(
        "update",
        "-i",
        str(POT_FILE),
        "-d",
        str(TRANSLATIONS),
        "--no-fuzzy-matching",
        "--ignore-obsolete",
    )
    _english_is_the_source()


def _english_is_the_source() -> None:
    """The msgids are English: the English catalogue repeats them, so nobody types it."""
    from babel.messages.pofile import read_po, write_po

    path = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale="en")
    for message in catalogue:
        if message.id:
            message.string = tuple(message.id) if isinstance(message.id, tuple) else message.id
            message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=76)


@translate_cli.command("compile")
def compile_catalogues() -> None:
    """Compile the catalogues the application reads at run time."""
    _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


@translate_cli.command("init")
@click.argument("language")
def init(language: str) -> None:
    """Start a catalogue for a new language."""
    _pybabel("init", "-i", str(POT_FILE), "-d", str(TRANSLATIONS), "-l", language)
