"""Forms for placement requests (staff and partners: Swedish and English)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, ValidationError
from wtforms.validators import DataRequired, NumberRange, Optional, Regexp

from app.cases.forms import note, single_line
from app.core.clock import utcnow
from app.core.digits import digits_filter
from app.core.fields import CheckboxesField, DateField, SelectField
from app.placements.models import PARTNER_SERVICES, FollowUp
from app.rules import LOCAL_TIME

REQUIRED = DataRequired(message=_l("This field is required."))

SERVICE_LABELS = {
    "housing": _l("Housing"),
    "supported_housing": _l("Supported housing"),
    "addiction_care": _l("Addiction care"),
    "school": _l("School places"),
    "support_staff": _l("Support staff"),
}


class PlacementForm(FlaskForm):
    adults = IntegerField(_l("Adults"), default=1, validators=[REQUIRED, NumberRange(1, 10)])
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
    housing_needs = note(_l("Housing needs"), 2000)
    support_needs = note(_l("Support needs"), 2000)
    earliest_move_on = DateField(_l("Earliest move date"), validators=[REQUIRED])
    services = CheckboxesField(
        _l("Services asked for"),
        choices=[(s, SERVICE_LABELS[s]) for s in PARTNER_SERVICES],
        validators=[Optional()],
    )
    expected_duration = single_line(_l("Expected duration"), 100)
    free_text = note(_l("Anything else the partner needs to decide (no names, no places)"), 3000)

    def validate_earliest_move_on(self, field: DateField) -> None:
        # Partners answer before the move; a date today or past leaves them no time.
        if field.data is not None and field.data <= utcnow().astimezone(LOCAL_TIME).date():
            raise ValidationError(_l("The earliest move date must be after today."))


class SendForm(FlaskForm):
    partners = CheckboxesField(_l("Partners"), choices=[], validators=[REQUIRED])
    override_reason = note(_l("Team lead: reason to send despite a conflict"), 1000)


class OfferForm(FlaskForm):
    housing_type = single_line(_l("Type of housing"), 100, required=True)
    move_in_on = DateField(_l("Move-in date"), validators=[REQUIRED])
    contact = single_line(_l("Contact person"), 200, required=True)


class DeclineForm(FlaskForm):
    reason = note(_l("Reason"), 1000, required=True)


class FollowUpForm(FlaskForm):
    stage = SelectField(_l("Stage"), choices=FollowUp.choices())
    report = note(_l("Report"), 3000)


class ProfileForm(FlaskForm):
    services = CheckboxesField(
        _l("Services"), choices=[(s, SERVICE_LABELS[s]) for s in PARTNER_SERVICES]
    )
    capacity = IntegerField(_l("Places available now"), validators=[REQUIRED, NumberRange(0, 1000)])
