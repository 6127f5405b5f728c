"""What every template may use: locale, direction, languages, the quick-exit target."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.forms import ConfirmForm
from app.auth.models import Role
from app.auth.sessions import current_session
from app.core.headers import allow_form_redirect_to
from app.i18n import available_languages, text_direction
from app.intake.choices import (
    AGE_BAND_LABELS,
    INTERVENTIONS,
    KIND_LABELS,
    STATUS_LABELS,
    URGENCY_LABELS,
)
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


def _label(labels: dict[Any, Any], kind: type[Any]) -> Any:
    def label(code: object) -> str:
        try:
            return str(labels[kind(code)])
        except ValueError:
            return "–"

    return label


def intervention_labels(codes: list[str]) -> str:
    return ", ".join(str(INTERVENTIONS[code]) for code in codes if code in INTERVENTIONS)


LABEL_HELPERS = {
    "kind_label": _label(KIND_LABELS, RequestKind),
    "age_band_label": _label(AGE_BAND_LABELS, AgeBand),
    "urgency_label": _label(URGENCY_LABELS, Urgency),
    "status_label": _label(STATUS_LABELS, RequestStatus),
    "intervention_labels": intervention_labels,
}


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
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
