"""The register extract in words, for the member of staff who reviews and hands it out.

The extract itself (extract.py) is data with machine keys, for the file; this reads the
same data back with labels instead of keys and names instead of codes, so the page and the
file can never say different things.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cases.forms import NEED_LABELS
from app.cases.models import (
    CaseOutcome,
    CaseSource,
    CaseStatus,
    InterventionStatus,
    ProtectionLevel,
    ThreatLevel,
)
from app.consent.labels import field_label
from app.consent.models import Purpose
from app.consultations.models import ActionStatus, ConsultationStatus
from app.core.labels import LabelledEnum
from app.i18n import local_list
from app.intake.choices import HELP_LABELS
from app.intake.models import RequestKind
from app.placements.models import PlacementStatus
from app.templating import moment

Style = Literal["plain", "ltr", "story"]


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    style: Style = "plain"


@dataclass
class Section:
    key: str
    title: str
    items: list[list[Row]] = field(default_factory=list)


def _name(labels: Mapping[Any, Any] | type[LabelledEnum], code: Any) -> str:
    if code is None:
        return str(_("Not given"))
    if isinstance(labels, type):
        labels = labels.labels()
    # The label sets are keyed by StrEnum members, which equal their values.
    return str(labels.get(code, code))


def _yes_no(value: Any) -> str:
    return str(_("Yes") if value else _("No"))


def _when(value: str | None) -> str:
    """A day ("2026-03-01") or a moment ("2026-03-01T09:30:00+00:00") as the reader says it."""
    if not value:
        return str(_("Not given"))
    if "T" not in value:
        return str(format_date(date.fromisoformat(value), "short"))
    return moment(value)


def _text(value: Any) -> str:
    if value in (None, "", []):
        return str(_("Not given"))
    if isinstance(value, list):
        return local_list(value)
    return str(value)


def _row(label: Any, value: str, style: Style = "plain") -> Row:
    # An empty answer is plain words, not an isolated left-to-right code.
    return Row(str(label), value, style if value != _("Not given") else "plain")


def _case_rows(case: Mapping[str, Any]) -> list[Row]:
    household = case.get("household")
    return [
        _row(_l("Reference"), case["reference"], "ltr"),
        _row(_l("Status"), _name(CaseStatus, case["status"])),
        _row(_l("Outcome"), _name(CaseOutcome, case["outcome"])),
        _row(_l("Source"), _name(CaseSource, case["source"])),
        _row(_l("Opened"), _when(case["opened_at"])),
        _row(_l("Closed"), _when(case["closed_at"])),
        _row(_l("Protected identity"), _name(ProtectionLevel, case["protection_level"])),
        _row(_l("Name"), _text(case["name"])),
        _row(_l("Personal identity number"), _text(case["personal_number"]), "ltr"),
        _row(_l("Phone"), _text(case["phone"]), "ltr"),
        _row(_l("Address"), _text(case["address"])),
        _row(_l("Municipality"), _text(case["municipality"])),
        _row(_l("Adults in the household"), _text(household and household["adults"])),
        _row(_l("Ages of the children"), _text(household and household["children_ages"])),
    ]


ItemRows = Callable[[Mapping[str, Any]], list[Row]]

ITEMS: dict[str, tuple[Any, ItemRows]] = {
    "requests_from_others": (
        _l("What others told the team"),
        lambda r: [
            _row(_l("Reference"), r["reference"], "ltr"),
            _row(_l("Kind"), _name(RequestKind, r["kind"])),
            _row(_l("Sent"), _when(r["submitted_at"])),
            _row(_l("Help wanted"), _text([_name(HELP_LABELS, c) for c in r["help_wanted"]])),
            _row(_l("In their own words"), _text(r["account"]), "story"),
        ],
    ),
    "journal": (
        _l("Journal"),
        lambda e: [_row(_l("Date"), _when(e["on"])), _row(_l("Note"), _text(e["text"]), "story")],
    ),
    "threat_assessments": (
        _l("Threat assessments"),
        lambda t: [
            _row(_l("Date"), _when(t["on"])),
            _row(_l("Threat level"), _name(ThreatLevel, t["level"])),
            _row(_l("Assessed by the police"), _yes_no(t["by_police"])),
            _row(_l("Sources of threat"), _text(t["sources"]), "story"),
            _row(_l("Areas to avoid"), _text(t["areas_to_avoid"])),
            _row(_l("Groups"), _text(t["groups"])),
        ],
    ),
    "needs_assessments": (
        _l("Needs assessments"),
        lambda n: [
            _row(_l("Date"), _when(n["on"])),
            *(
                _row(NEED_LABELS.get(need, need), _text(note), "story")
                for need, note in n["notes"].items()
            ),
        ],
    ),
    "interventions": (
        _l("Interventions"),
        lambda i: [
            _row(_l("Intervention"), _name(HELP_LABELS, i["kind"])),
            _row(_l("Provider"), _text(i["provider"])),
            _row(_l("From"), _when(i["from"])),
            _row(_l("To"), _when(i["to"])),
            _row(_l("Status"), _name(InterventionStatus, i["status"])),
            _row(_l("Outcome"), _text(i["outcome"]), "story"),
        ],
    ),
    "consents": (
        _l("Consents"),
        lambda c: [
            _row(_l("Purposes"), _text([_name(Purpose, p) for p in c["purposes"]])),
            _row(_l("Agencies"), _text(c["agencies"])),
            _row(_l("Given"), _yes_no(c["given"])),
            _row(_l("Valid from"), _when(c["valid_from"])),
            _row(_l("Valid until"), _when(c["valid_until"])),
            _row(_l("Withdrawn"), _when(c["withdrawn_at"])),
        ],
    ),
    "disclosures": (
        _l("Disclosures (recipients)"),
        lambda d: [
            _row(_l("Date"), _when(d["at"])),
            _row(_l("To"), _text(d["to"])),
            # "what" in the file is the same field codes joined; here they are named.
            _row(_l("Fields"), _text([field_label(f) for f in d["fields"]])),
            _row(_l("Purpose"), _name(Purpose, d["purpose"])),
            _row(_l("Consent given on"), _when(d["consent_given_on"])),
            _row(_l("Legal ground"), _text(d["legal_ground"])),
        ],
    ),
    "consultations": (
        _l("Consultations"),
        lambda c: [
            _row(_l("Date"), _when(c["at"])),
            _row(_l("Status"), _name(ConsultationStatus, c["status"])),
            _row(_l("Agencies"), _text(c["agencies"])),
            _row(_l("Minutes"), _text(c["minutes"]), "story"),
        ],
    ),
    "actions": (
        _l("Actions"),
        lambda a: [
            _row(_l("Agency"), _text(a["by"])),
            _row(_l("What"), _text(a["what"]), "story"),
            _row(_l("Due"), _when(a["due_on"])),
            _row(_l("Status"), _name(ActionStatus, a["status"])),
            _row(_l("Done"), _when(a["done_at"])),
            _row(_l("Outcome"), _text(a["outcome"]), "story"),
        ],
    ),
    "placements": (
        _l("Placements"),
        lambda p: [
            _row(_l("Date"), _when(p["created_at"])),
            _row(_l("Status"), _name(PlacementStatus, p["status"])),
            _row(_l("Partners asked"), _text(p["partners_asked"])),
        ],
    ),
}


def readable_extract(data: Mapping[str, Any]) -> list[Section]:
    """The extract's sections, each a list of items, each a list of labelled rows.

    The person's own account is left to the client's own "my data" view (it is the same
    data, and reads the same for the team as for the person).
    """
    sections = [Section("case", _("The case"), [_case_rows(data["case"])])]
    for key, (title, rows_of) in ITEMS.items():
        sections.append(Section(key, str(title), [rows_of(item) for item in data[key]]))
    return sections
