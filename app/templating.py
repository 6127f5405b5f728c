"""Everything templates may use, registered here and nowhere else.

Each feature exports plain functions (its labels module: `app.cases.labels`,
`app.consultations.labels`, …); this module decides which of them the templates see, under
which name. A feature's views never register template helpers.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from app.admin.permissions import needs_approval
from app.auth import totp
from app.auth.forms import ConfirmForm
from app.auth.models import Role
from app.auth.permissions import can_manage_organisations
from app.auth.sessions import current_session
from app.cases import labels as case_labels
from app.consent.labels import field_label
from app.consultations import labels as consultation_labels
from app.core.clock import utcnow
from app.core.fields import choice_inputs
from app.core.headers import allow_form_redirect_to
from app.core.language import page_locale, page_translations
from app.i18n import (
    available_languages,
    language_name,
    local_date,
    local_datetime,
    local_list,
    local_number,
    text_direction,
)
from app.intake.answers import draft_answers, request_answers
from app.intake.choices import HELP_LABELS, STEP_NAMES
from app.intake.models import AgeBand, RequestKind, RequestStatus, Urgency
from app.orgs.models import OrgKind
from app.placements import labels as placement_labels
from app.rules import LOCAL_TIME, municipalities
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


# The workspace's words: cases, consent, consultations, placements.
FEATURE_HELPERS: dict[str, Any] = {
    "case_status_label": case_labels.case_status_label,
    "case_outcome_label": case_labels.case_outcome_label,
    "case_source_label": case_labels.case_source_label,
    "case_age_label": case_labels.case_age_label,
    "protection_label": case_labels.protection_label,
    "threat_label": case_labels.threat_label,
    "threat_label_code": case_labels.threat_label_code,
    "case_list_labels": case_labels.case_list_labels,
    "case_filter_choices": case_labels.case_filter_choices,
    "purpose_labels": case_labels.purpose_labels,
    "timeline_label": case_labels.timeline_label,
    "deadline_label": case_labels.deadline_label,
    "timeline_detail": case_labels.timeline_detail,
    "need_label": case_labels.need_label,
    "intervention_status_label": case_labels.intervention_status_label,
    "safe_time_labels": case_labels.safe_time_labels,
    "contact_label": case_labels.contact_label,
    "client_purpose_label": case_labels.client_purpose_label,
    "relationship_label": case_labels.relationship_label,
    "municipality_name": municipalities.display,
    "municipality_names": municipalities.display_all,
    "disclosed_field_label": field_label,
    "consultation_status_label": consultation_labels.consultation_status_label,
    "response_label": consultation_labels.response_label,
    "action_status_label": consultation_labels.action_status_label,
    "placement_status_label": placement_labels.placement_status_label,
    "request_status_label": placement_labels.request_status_label,
    "service_labels": placement_labels.service_labels,
    "follow_up_label": placement_labels.follow_up_label,
    "org_kind_label": lambda kind: OrgKind(kind).label,
}


def today() -> date:
    """Today in the team's time zone (what "overdue" is measured against)."""
    return utcnow().astimezone(LOCAL_TIME).date()


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
    locale = str(page_locale())
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


def reference(value: str) -> Markup:
    """A case's or request's reference inside a sentence: read left to right in every
    language, and kept on one line in a heading (K-2026-990325 must not break after "K-")."""
    return Markup('<span dir="ltr">%s</span>') % value


def administration_context() -> dict[str, Any]:
    """What the administration's pages (only theirs) show or hide per administrator."""
    return {
        "can_manage_organisations": can_manage_organisations(current_user),
        "needs_team_lead": needs_approval,
    }


def init_templating(app: Flask) -> None:
    app.context_processor(template_context)
    # Scoped to the administration blueprint, as a blueprint's own processor would be: no
    # other page pays for the permission check.
    app.template_context_processors["admin"].append(administration_context)
    app.jinja_env.globals.update(LABEL_HELPERS)
    app.jinja_env.globals.update(FEATURE_HELPERS)
    app.jinja_env.globals.update(
        text_direction=text_direction, language_name=language_name, today=today
    )
    # Dates and lists in the page's language: `{{ when|local_datetime }}`,
    # `{{ day|local_date }}`, `{{ names|local_list }}`.
    app.jinja_env.filters.update(
        local_date=local_date,
        local_datetime=local_datetime,
        local_list=local_list,
        local_number=local_number,
    )
    # Templates' _(), gettext and ngettext through the request's catalogue, found once.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["moment"] = moment
    app.jinja_env.filters["reference"] = reference
    app.jinja_env.filters["from_json"] = json.loads
    app.jinja_env.globals.update(
        authenticator_uri=authenticator_uri, qr_svg=qr_svg, choice_inputs=choice_inputs
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
