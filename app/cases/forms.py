"""Staff forms for triage and cases (Swedish and English)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.cases.models import (
    NEEDS,
    CaseOutcome,
    CaseSource,
    CaseStatus,
    InterventionStatus,
    ProtectionLevel,
    ThreatLevel,
)
from app.cases.services import CONTACT_CHANNELS, CONTACT_OUTCOMES, REQUEST_CLOSE_REASONS
from app.consent.forms import code_field
from app.core.digits import digits_filter
from app.core.fields import CheckboxesField, DateField, NamesSelect, SelectField
from app.core.validators import PlainText, SingleLine
from app.rules import municipalities
from app.rules.models import AgeBand

REQUIRED = DataRequired(message=_l("This field is required."))

CHANNEL_LABELS = {
    "phone": _l("Phone"),
    "sms": _l("Text message"),
    "message": _l("Portal message"),
    "meeting": _l("Meeting"),
    "other": _l("Other"),
}
OUTCOME_LABELS = {
    "reached": _l("Reached"),
    "no_answer": _l("No answer"),
    "voicemail": _l("Left a voice message"),
    "wrong_number": _l("Wrong number"),
    "unsafe": _l("Not safe to talk"),
}
CLOSE_REASON_LABELS = {
    "not_reached": _l("Could not be reached"),
    "no_longer_wanted": _l("No longer wants help"),
    "referred": _l("Referred elsewhere"),
    "duplicate": _l("Duplicate"),
    "other": _l("Other"),
}
NEED_LABELS = {
    "housing": _l("Housing"),
    "income": _l("Income"),
    "debt": _l("Debt"),
    "work_education": _l("Work or education"),
    "addiction": _l("Addiction"),
    "health": _l("Health"),
    "family": _l("Family and children"),
    "protection": _l("Protection"),
}
YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


def parse_ages(text: str | None) -> list[int]:
    """Children's ages as typed ("4, 9"), already checked by the field's pattern."""
    return [int(age) for age in (text or "").replace(" ", "").split(",") if age]


def single_line(label: object, max_length: int, *, required: bool = False) -> StringField:
    first = REQUIRED if required else Optional()
    return StringField(label, validators=[first, Length(max=max_length), SingleLine()])


def note(label: object, max_length: int = 5000, *, required: bool = False) -> TextAreaField:
    first = REQUIRED if required else Optional()
    return TextAreaField(label, validators=[first, Length(max=max_length), PlainText()])


UNKNOWN_MUNICIPALITY = _l("Choose the municipality from the list.")


class MunicipalityField(SelectField):
    """One of Sweden's municipalities, chosen from the official list; the value is its code.

    Empty means "not known". A value written before the list existed (and not recognised
    when it was carried over) is offered as it is, so saving the rest of the form keeps it
    until someone chooses the municipality; nothing else outside the list is accepted.
    """

    widget = NamesSelect()

    def __init__(self, label: object, **kwargs: Any) -> None:
        super().__init__(label, validate_choice=False, **kwargs)
        self.choices = [("", "–"), *municipalities.choices()]
        self.kept: str | None = None

    def keep(self, stored: str | None) -> None:
        if stored and not municipalities.is_code(stored):
            self.kept = stored
            label = municipalities.display(stored)
            self.choices = [(stored, label), *self.choices]

    def pre_validate(self, form: object) -> None:
        if self.data and not municipalities.is_code(self.data) and self.data != self.kept:
            raise ValidationError(str(UNKNOWN_MUNICIPALITY))


class MunicipalitiesField(CheckboxesField):
    """Several municipalities from the official list, each once (a plain multiple select: no
    script; 290 checkboxes would be a wall)."""

    widget = NamesSelect(multiple=True)
    not_a_choice = UNKNOWN_MUNICIPALITY

    def __init__(self, label: object, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.choices = municipalities.choices()

    def pre_validate(self, form: Any) -> None:
        super().pre_validate(form)
        if len(self.data or []) > 50:
            raise ValidationError(str(_l("Choose at most 50 municipalities.")))


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Caseworker"), validators=[REQUIRED])


class ContactAttemptForm(FlaskForm):
    channel = SelectField(_l("Channel"), choices=[(c, CHANNEL_LABELS[c]) for c in CONTACT_CHANNELS])
    outcome = SelectField(_l("Outcome"), choices=[(o, OUTCOME_LABELS[o]) for o in CONTACT_OUTCOMES])


class CloseRequestForm(FlaskForm):
    reason = SelectField(
        _l("Reason"), choices=[(r, CLOSE_REASON_LABELS[r]) for r in REQUEST_CLOSE_REASONS]
    )


class LinkForm(FlaskForm):
    reference = single_line(_l("Case reference"), 20, required=True)


class GrantForm(FlaskForm):
    reason = note(_l("Reason"), 500, required=True)


class IdentityForm(FlaskForm):
    full_name = single_line(_l("Name"), 200)
    personal_number = StringField(
        _l("Personal identity number"),
        validators=[
            Optional(),
            Regexp(r"^([0-9]{2})?[0-9]{6}[-+]?[0-9]{4}$", message=_l("Write it as YYYYMMDD-NNNN.")),
        ],
        filters=[digits_filter],
    )
    phone = single_line(_l("Phone"), 40)
    address = single_line(_l("Address"), 200)
    municipality = MunicipalityField(_l("Municipality of residence"))
    adults = IntegerField(
        _l("Adults in the household"), default=1, validators=[Optional(), NumberRange(0, 20)]
    )
    children_ages = StringField(
        _l("Children's ages"),
        validators=[
            Optional(),
            Regexp(
                r"^\s*([0-9]{1,2}\s*(,\s*[0-9]{1,2}\s*)*)?$",
                message=_l("Ages separated by commas, like 4, 9."),
            ),
        ],
        filters=[digits_filter],
    )

    def __init__(self, *args: Any, stored_municipality: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.municipality.keep(stored_municipality)


class ProtectionForm(FlaskForm):
    level = SelectField(_l("Protected identity"), choices=ProtectionLevel.choices())


class LowerProtectionForm(FlaskForm):
    """Lowering a level shows the identity to more people: a reason and a fresh code."""

    level = SelectField(_l("New level"), choices=ProtectionLevel.choices())
    reason = note(_l("Reason"), 500, required=True)
    code = code_field()


class ApproveLoweringForm(FlaskForm):
    code = code_field()


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=CaseStatus.choices(without=[CaseStatus.CLOSED]),
    )


class CloseCaseForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), choices=CaseOutcome.choices(), validators=[REQUIRED])
    # Set only by the confirmation page's button: closing ends the clocks and the
    # agencies' access, so the first press asks again instead of closing.
    confirmed = HiddenField()


class JournalForm(FlaskForm):
    occurred_on = DateField(_l("Date"), validators=[REQUIRED])
    body = note(_l("Note"), required=True)


class ThreatForm(FlaskForm):
    level = RadioField(_l("Threat level"), choices=ThreatLevel.choices(), validators=[REQUIRED])
    by_police = RadioField(
        _l("Assessed by the team's police officer?"), choices=YES_NO, validators=[REQUIRED]
    )
    assessed_on = DateField(_l("Date of assessment"), validators=[REQUIRED])
    sources = note(_l("Sources of threat"), 3000)
    groups = CheckboxesField(_l("Groups"), choices=[])
    areas_to_avoid = MunicipalitiesField(_l("Municipalities to avoid"), render_kw={"size": 8})
    next_review_on = DateField(_l("Next review"), validators=[Optional()])


class NeedsForm(FlaskForm):
    housing = note(NEED_LABELS["housing"], 500)
    income = note(NEED_LABELS["income"], 500)
    debt = note(NEED_LABELS["debt"], 500)
    work_education = note(NEED_LABELS["work_education"], 500)
    addiction = note(NEED_LABELS["addiction"], 500)
    health = note(NEED_LABELS["health"], 500)
    family = note(NEED_LABELS["family"], 500)
    protection = note(NEED_LABELS["protection"], 500)

    def notes(self) -> dict[str, str]:
        return {need: self[need].data or "" for need in NEEDS}


class InterventionForm(FlaskForm):
    kind = SelectField(_l("Intervention"))
    provider = single_line(_l("Provider"), 200)
    starts_on = DateField(_l("Start"), validators=[Optional()])
    ends_on = DateField(_l("End"), validators=[Optional()])


class InterventionUpdateForm(FlaskForm):
    status = SelectField(_l("Status"), choices=InterventionStatus.choices())
    outcome = note(_l("Outcome"), 2000)


ALL_CASES = "all"
DEADLINE_FILTERS = {"overdue": _l("Overdue"), "week": _l("Due within 7 days")}


class NewCaseForm(FlaskForm):
    source = SelectField(
        _l("Where the request came from"),
        choices=CaseSource.choices(without=[CaseSource.SELF_SERVICE]),
    )
    # Choices are the active agencies, set by the view; "" is "none, or not an agency".
    reporting_organisation = SelectField(
        _l("Reporting agency"), choices=[], default="", validators=[Optional()]
    )
    age_band = SelectField(
        _l("Age of the person"),
        choices=AgeBand.choices(),
        default=AgeBand.UNKNOWN.value,
    )
    full_name = single_line(_l("Name"), 200)


class AgeForm(FlaskForm):
    age_band = SelectField(_l("Age of the person"), choices=AgeBand.choices())


# The filter bar's choices, module constants so that their words are translated once per
# language (core.fields.choices_in) when the bar is drawn without its widgets.
STATUS_FILTERS = (("", _l("Open cases")), *CaseStatus.choices(), (ALL_CASES, _l("All cases")))
PROTECTION_FILTERS = (("", _l("All")), *ProtectionLevel.choices())
DEADLINE_FILTER_CHOICES = (("", _l("All")), *DEADLINE_FILTERS.items())


class CaseFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    # "" is "All": a visit without filters (or with only a page number) is a valid search.
    reference = single_line(_l("Reference"), 20)
    # Open cases unless asked otherwise: closed ones are the team's history, not its work.
    status = SelectField(
        _l("Status"),
        choices=list(STATUS_FILTERS),
        default="",
        validators=[Optional()],
    )
    protection = SelectField(
        _l("Protected identity"),
        choices=list(PROTECTION_FILTERS),
        default="",
        validators=[Optional()],
    )
    caseworker = SelectField(_l("Caseworker"), choices=[], default="", validators=[Optional()])
    deadline = SelectField(
        _l("Deadline"),
        choices=list(DEADLINE_FILTER_CHOICES),
        default="",
        validators=[Optional()],
    )


class GroupForm(FlaskForm):
    name = single_line(_l("Name of the group"), 120, required=True)
