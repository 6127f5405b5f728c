"""Translated names of the workspace's codes, for the templates."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from babel import dates
from flask_babel import lazy_gettext as _l

from app.cases.forms import (
    CHANNEL_LABELS,
    DEADLINE_FILTER_CHOICES,
    NEED_LABELS,
    OUTCOME_LABELS,
    PROTECTION_FILTERS,
    STATUS_FILTERS,
)
from app.cases.models import (
    CaseOutcome,
    CaseSource,
    CaseStatus,
    InterventionStatus,
    ProtectionLevel,
    ThreatLevel,
)
from app.consent.models import ConsentMethod, Purpose
from app.core.clock import as_utc
from app.core.fields import choices_in
from app.core.language import page_locale
from app.i18n import DATE_FORMAT, local_date, local_list
from app.intake.choices import INTERVENTIONS, SAFE_TIMES
from app.rules import LOCAL_TIME
from app.rules.models import AgeBand

TIMELINE_LABELS = {
    "case.opened": _l("Case opened"),
    "case.status_changed": _l("Status changed"),
    "case.closed": _l("Case closed"),
    "case.assigned": _l("Caseworker assigned"),
    "case.unassigned": _l("Caseworker removed"),
    "case.protection_changed": _l("Protected identity changed"),
    "case.break_glass": _l("Opened in an emergency (break the glass)"),
    "case.reveal_identity": _l("Identity revealed"),
    "case.request_linked": _l("A relative's request was linked"),
    "consent.answered": _l("The client answered a consent"),
    "consent.withdrawn": _l("Consent withdrawn"),
    "case.deadline_met": _l("Deadline met"),
    "case.child_investigation_opened": _l("Investigation about a child opened"),
    "case.clock_started": _l("Deadline started"),
    "case.age_recorded": _l("Age of the person recorded"),
    "contact_attempt": _l("Contact attempt"),
    "consultation": _l("Consultation"),
    "journal": _l("Note"),
    "threat": _l("Threat assessment"),
    "needs": _l("Needs assessment"),
    "consent": _l("Consent recorded"),
    "intervention": _l("Intervention added"),
    "message_from_client": _l("Message from the client"),
    "message_to_client": _l("Message to the client"),
}

DEADLINE_LABELS = {
    "child_protection_assessment": _l("Protection assessment for a child"),
    "child_investigation_decision": _l("Decision whether to investigate (child)"),
    "child_investigation_completed": _l("Investigation finished (child)"),
    "first_contact_acute": _l("First contact (urgent)"),
    "first_contact_other": _l("First contact"),
    "threat_review": _l("Review of the threat assessment"),
    "reporter_feedback": _l("Tell the reporting agency whether an investigation was opened"),
}


def case_status_label(status: CaseStatus) -> str:
    return CaseStatus(status).translated()


def case_source_label(source: CaseSource) -> str:
    return CaseSource(source).translated()


def case_age_label(age_band: AgeBand | None) -> str:
    return AgeBand(age_band or AgeBand.UNKNOWN).translated()


def case_outcome_label(outcome: CaseOutcome) -> str:
    return CaseOutcome(outcome).translated()


def protection_label(level: ProtectionLevel) -> str:
    return ProtectionLevel(level).translated()


def threat_label(level: ThreatLevel) -> str:
    return ThreatLevel(level).translated()


def threat_label_code(code: str) -> str:
    return str(ThreatLevel(code).label)


def need_label(need: str) -> str:
    return str(NEED_LABELS.get(need, need))


def intervention_status_label(status: InterventionStatus) -> str:
    return str(InterventionStatus(status).label)


def client_purpose_label(purpose: Purpose) -> str:
    return str(Purpose(purpose).client_label)


def safe_time_labels(codes: Iterable[str]) -> str:
    return local_list(SAFE_TIMES.get(c, c) for c in codes)


def _local_day(moment: datetime) -> date:
    return as_utc(moment).astimezone(LOCAL_TIME).date()


@functools.lru_cache(maxsize=4096)
def _list_day(day: date, locale: str) -> str:
    return dates.format_date(day, DATE_FORMAT, locale=locale)


@dataclass(frozen=True)
class CaseListLabels:
    """What a list of cases shows on every row, in one language: looked up once per table
    rather than twice per row, since finding the language costs more than the row."""

    status: Mapping[CaseStatus, str]
    protection: Mapping[ProtectionLevel, str]
    locale: str

    def day(self, moment: datetime) -> str:
        return _list_day(_local_day(moment), self.locale)


def case_list_labels() -> CaseListLabels:
    locale = str(page_locale())
    return CaseListLabels(
        status=CaseStatus.names(locale),
        protection=ProtectionLevel.names(locale),
        locale=locale,
    )


def case_filter_choices() -> dict[str, tuple[tuple[str, str], ...]]:
    """The case list's filter bar in the page's language, each list translated once."""
    locale = str(page_locale())
    return {
        "status": choices_in(STATUS_FILTERS, locale),
        "protection": choices_in(PROTECTION_FILTERS, locale),
        "deadline": choices_in(DEADLINE_FILTER_CHOICES, locale),
    }


def purpose_labels(purposes: Iterable[Purpose]) -> str:
    return local_list(Purpose(p).label for p in sorted(purposes))


def timeline_label(kind: str) -> str:
    return str(TIMELINE_LABELS.get(kind, kind))


def deadline_label(key: str) -> str:
    return str(DEADLINE_LABELS.get(key, key))


def timeline_detail(kind: str, detail: str | None) -> str:
    """The detail of a timeline entry in words, not codes."""
    if not detail:
        return ""
    try:
        if kind == "case.status_changed":
            return str(CaseStatus(detail).label)
        if kind == "case.closed":
            return str(CaseOutcome(detail).label)
        if kind == "case.protection_changed":
            return str(ProtectionLevel(detail).label)
        if kind == "threat":
            return str(ThreatLevel(detail).label)
        if kind == "journal":
            return local_date(date.fromisoformat(detail))
        if kind == "case.age_recorded":
            return str(AgeBand(detail).label)
        if kind == "consent":
            return str(ConsentMethod(detail).label)
    except ValueError:
        return detail
    if kind in ("case.clock_started", "case.deadline_met"):
        return deadline_label(detail)
    if kind == "intervention":
        return str(INTERVENTIONS.get(detail, detail))
    if kind == "contact_attempt":
        channel, _sep, outcome = detail.partition("|")
        return contact_label(channel, outcome)
    return ""


def contact_label(channel: str, outcome: str) -> str:
    return f"{CHANNEL_LABELS.get(channel, channel)} – {OUTCOME_LABELS.get(outcome, outcome)}"


# A relative's relation to the person, as staff read it (the client chose it in the first
# person: "I am their parent").
RELATIONSHIP_LABELS = {
    "parent": _l("Parent"),
    "sibling": _l("Brother or sister"),
    "partner": _l("Partner"),
    "relative": _l("Another relative"),
    "friend": _l("Friend"),
    "other": _l("Other"),
}


def relationship_label(code: str) -> str:
    return str(RELATIONSHIP_LABELS.get(code, code))
