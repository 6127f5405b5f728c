"""What every template may use: locale, direction, languages, the quick-exit target."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from app.auth import totp
from app.auth.forms import ConfirmForm
from app.auth.models import Role
from app.auth.sessions import current_session
from app.core.headers import allow_form_redirect_to
from app.i18n import (
    available_languages,
    local_date,
    local_datetime,
    local_list,
    local_number,
    text_direction,
)
from app.intake.answers import draft_answers, request_answers
from app.intake.choices import HELP_LABELS, STEP_NAMES
from app.intake.models import AgeBand, RequestKind, RequestStatus, Urgency
from app.settings import services as site_settings

ROLE_LABELS = {
    Role.CLIENT: _l("Client"),
    Role.CASEWORKER: _l("Caseworker"),
    Role.TEAM_LEAD: _l("Team lead"),
    Role.AGENCY_REP: _l("Agency representative"),
    Role.PARTNER: _l("Relocation partner"),
    Role.ADMIN: _l("Administrator"),
}


def role_label(role: Role) -> str:
    return str(ROLE_LABELS[role])


def intervention_labels(codes: list[str]) -> str:
    return local_list(HELP_LABELS[code] for code in codes if code in HELP_LABELS)


LABEL_HELPERS: dict[str, Any] = {
    "kind_label": lambda code: RequestKind.label_of(code, client=True),
    "age_band_label": lambda code: AgeBand.label_of(code, client=True),
    "urgency_label": lambda code: Urgency.label_of(code, client=True),
    "status_label": lambda code: RequestStatus.label_of(code, client=True),
    "intervention_labels": intervention_labels,
    "step_name": lambda step: str(STEP_NAMES[step]),
    "draft_answers": draft_answers,
    "request_answers": request_answers,
}


def moment(value: str | datetime | None, format: str = "short") -> str:
    """A moment from an export (ISO 8601) or a model, in the reader's language and time zone."""
    if value is None:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return str(format_datetime(when, format))


def authenticator_uri(secret: str, username: str) -> str:
    """The otpauth:// address of an offered key, under the installation's neutral name."""
    return totp.provisioning_uri(secret, username, site_settings.current().neutral_title)


def qr_svg(uri: str, title: str) -> Markup:
    return Markup(totp.qr_svg(uri, title))  # noqa: S704  (segno's own SVG, text escaped by it)


def brand(neutral_title: str) -> str:
    """The name in the page header: the neutral one for everyone but signed-in staff.

    On a client's phone the header is as much evidence as the tab title.
    """
    if current_user.is_authenticated and current_user.role.is_staff:
        return "Utväg"
    return neutral_title


def template_context() -> dict[str, Any]:
    locale = str(get_locale() or "sv")
    chosen = site_settings.current()
    # Staff work at their desks; everyone else may need to leave the page in a hurry.
    # Quick exit is a form that ends the session wherever this browser holds our cookie
    # (a session, a login begun, a language chosen); a visitor without one has nothing
    # to end and gets a plain link, so reading the public pages still sets no cookie.
    show_quick_exit = not (current_user.is_authenticated and current_user.role.is_staff)
    quick_exit_form = ConfirmForm(formdata=None) if show_quick_exit and session else None
    if quick_exit_form is not None:
        allow_form_redirect_to(chosen.quick_exit_url)
    return {
        "current_locale": locale,
        "current_dir": text_direction(locale),
        "languages": available_languages(),
        "quick_exit_url": chosen.quick_exit_url,
        "neutral_title": chosen.neutral_title,
        "brand_name": brand(chosen.neutral_title),
        "team_phone": current_app.config["TEAM_PHONE"],
        # formdata=None: rendering an error page must never read (or choke on) the body.
        # Only for someone (half-way) logged in: the form's token lives in the session
        # cookie, and a visitor who only reads the public pages gets no cookie at all (on a
        # shared phone a cookie is evidence of the visit).
        "logout_form": ConfirmForm(formdata=None) if current_session() is not None else None,
        "quick_exit_form": quick_exit_form,
        "current_path": request.path,
        "show_quick_exit": show_quick_exit,
        "role_label": role_label,
    }


def init_templating(app: Flask) -> None:
    app.context_processor(template_context)
    app.jinja_env.globals.update(LABEL_HELPERS)
    # Dates and lists in the page's language: `{{ when|local_datetime }}`,
    # `{{ day|local_date }}`, `{{ names|local_list }}`.
    app.jinja_env.filters.update(
        local_date=local_date,
        local_datetime=local_datetime,
        local_list=local_list,
        local_number=local_number,
    )
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.globals.update(authenticator_uri=authenticator_uri, qr_svg=qr_svg)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
