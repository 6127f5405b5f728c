"""The settings an administrator may change, their bounds, and the values in force.

Defaults come from configuration (languages, quick exit, page title) and rules.toml
(periods); a saved choice overrides its default. Reading happens on most requests, so the
few rows are loaded once per application context.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context

from app.audit.services import record
from app.auth.models import User
from app.core.clock import utcnow
from app.extensions import db
from app.settings.models import KEY_END, SETTING_END, SNAPSHOT_KEY, SiteSetting, settings_snapshot


@dataclass(frozen=True)
class PeriodBounds:
    """What a period may be set to; outside these it would break a promise or the law."""

    minimum: int
    maximum: int


# Periods the team may tune. The five-year deletion of records is the law (SoL 12:1), not
# a choice, so it is shown but not editable; the rest are targets and data-minimisation
# periods the municipality decides itself.
EDITABLE_PERIODS: dict[str, PeriodBounds] = {
    "first_contact_acute": PeriodBounds(0, 2),
    "first_contact_other": PeriodBounds(1, 10),
    "unsubmitted_client_account": PeriodBounds(1, 30),
    "request_without_case": PeriodBounds(1, 24),
    "sent_mail": PeriodBounds(1, 90),
    "audit_events": PeriodBounds(2, 10),
}
LANGUAGES_KEY = "enabled_languages"
QUICK_EXIT_KEY = "quick_exit_url"
TITLE_KEY = "neutral_title"
# The exit team that receives self-service requests (its slug). Its default is
# INTAKE_ORGANISATION; with neither, the only exit team receives them.
INTAKE_KEY = "intake_organisation"
# The privacy notice names the data protection officer; its default is DPO_CONTACT.
DPO_KEY = "dpo_contact"
# The day the accessibility statement was last reviewed. The default is the day its text
# was last rewritten; the administrator sets the date of each later review.
STATEMENT_REVIEWED_KEY = "accessibility_reviewed_on"
STATEMENT_WRITTEN_ON = date(2026, 12, 6)
PERIOD_PREFIX = "period:"
# The team's office hours on weekdays, "HH:MM" each: the access log flags work outside them.
OFFICE_OPENS_KEY = "office_opens"
OFFICE_CLOSES_KEY = "office_closes"
DEFAULT_OFFICE_HOURS = (time(7, 0), time(18, 0))


@dataclass(frozen=True)
class SiteSettings:
    periods: dict[str, int]
    enabled_languages: tuple[str, ...]
    quick_exit_url: str
    neutral_title: str
    intake_organisation: str | None
    dpo_contact: str
    accessibility_reviewed_on: date
    office_hours: tuple[time, time] = DEFAULT_OFFICE_HOURS


_NOT_READ = object()


def _saved() -> dict[str, Any]:
    """The saved settings, read at most once per request: with the session when there is
    one (auth.sessions), else by a query of their own."""
    if "site_settings" not in g:
        snapshot = g.pop(SNAPSHOT_KEY, _NOT_READ)
        if snapshot is _NOT_READ:
            snapshot = db.session.scalar(sa.select(settings_snapshot()))
        g.site_settings = dict(_parsed(snapshot))
    saved: dict[str, Any] = g.site_settings
    return saved


@functools.lru_cache(maxsize=8)
def _parsed(snapshot: str | None) -> dict[str, Any]:
    """The settings in a snapshot; the same text parses to the same values, so each worker
    parses a version of the settings once (callers get a copy)."""
    if not snapshot:
        return {}
    pairs = (setting.split(KEY_END, 1) for setting in snapshot.split(SETTING_END))
    return {key: json.loads(value) for key, value in pairs}


def current() -> SiteSettings:
    saved = _saved()
    public: tuple[str, ...] = current_app.config["PUBLIC_LANGUAGES"]
    enabled = saved.get(LANGUAGES_KEY)
    return SiteSettings(
        periods={
            key[len(PERIOD_PREFIX) :]: int(value)
            for key, value in saved.items()
            if key.startswith(PERIOD_PREFIX)
        },
        # A language removed from the installation since it was chosen is simply dropped.
        enabled_languages=tuple(code for code in public if enabled is None or code in enabled),
        quick_exit_url=saved.get(QUICK_EXIT_KEY) or current_app.config["QUICK_EXIT_URL"],
        neutral_title=saved.get(TITLE_KEY) or current_app.config["NEUTRAL_TITLE"],
        intake_organisation=saved.get(INTAKE_KEY) or current_app.config["INTAKE_ORGANISATION"],
        dpo_contact=saved.get(DPO_KEY) or current_app.config.get("DPO_CONTACT", ""),
        accessibility_reviewed_on=(
            date.fromisoformat(saved[STATEMENT_REVIEWED_KEY])
            if saved.get(STATEMENT_REVIEWED_KEY)
            else STATEMENT_WRITTEN_ON
        ),
        office_hours=(
            time.fromisoformat(saved.get(OFFICE_OPENS_KEY) or DEFAULT_OFFICE_HOURS[0].isoformat()),
            time.fromisoformat(saved.get(OFFICE_CLOSES_KEY) or DEFAULT_OFFICE_HOURS[1].isoformat()),
        ),
    )


def period_override(rule_key: str) -> int | None:
    """The administrator's value for a rule, if one is saved (outside an app: none)."""
    if not has_app_context() or rule_key not in EDITABLE_PERIODS:
        return None
    return current().periods.get(rule_key)


def in_force() -> dict[str, Any]:
    """Every setting's value now, saved or default, under its storage key."""
    # Imported here: the rules read their overrides from this module.
    from app.rules import all_rules

    chosen = current()
    return {
        **{
            PERIOD_PREFIX + key: chosen.periods.get(key, all_rules()[key].value)
            for key in EDITABLE_PERIODS
        },
        LANGUAGES_KEY: list(chosen.enabled_languages),
        QUICK_EXIT_KEY: chosen.quick_exit_url,
        TITLE_KEY: chosen.neutral_title,
        INTAKE_KEY: chosen.intake_organisation,
        DPO_KEY: chosen.dpo_contact,
        STATEMENT_REVIEWED_KEY: chosen.accessibility_reviewed_on.isoformat(),
        OFFICE_OPENS_KEY: chosen.office_hours[0].isoformat("minutes"),
        OFFICE_CLOSES_KEY: chosen.office_hours[1].isoformat("minutes"),
    }


def save(proposed: dict[str, Any], by: User | None) -> list[str]:
    """Store the values that differ from those in force, and audit each changed key (the
    trail speaks in identifiers, so the values stay out of it). Returns the changed keys.

    Only differences are stored, so a default left alone follows future defaults.
    """
    before = in_force()
    existing = {row.key: row for row in db.session.scalars(sa.select(SiteSetting))}
    changed: list[str] = []
    for key, value in proposed.items():
        if value == before[key]:
            continue
        row = existing.get(key)
        if row is None:
            row = SiteSetting(key=key)
            db.session.add(row)
        row.value = json.dumps(value, ensure_ascii=False)
        row.updated_at = utcnow()
        row.updated_by_id = by.id if by else None
        changed.append(key)
        record("settings.changed", subject_type="site_setting", subject_id=key)
    g.pop("site_settings", None)
    g.pop(SNAPSHOT_KEY, None)
    return changed
