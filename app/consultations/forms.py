"""Forms for convening and recording consultations (staff: Swedish and English)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    PasswordField,
    RadioField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp

from app.cases.forms import note, single_line
from app.consultations.models import ActionStatus, Response
from app.core.fields import CheckboxesField, DateField, SelectField

REQUIRED = DataRequired(message=_l("This field is required."))


class PlanFields(FlaskForm):
    starts_on = DateField(_l("Date"), validators=[REQUIRED])
    starts_time = TimeField(_l("Time (Swedish time)"), validators=[REQUIRED])
    duration = IntegerField(
        _l("Duration in minutes"), default=90, validators=[REQUIRED, NumberRange(15, 480)]
    )
    place = single_line(_l("Place or video link"), 300, required=True)


class ConveneForm(PlanFields):
    agencies = CheckboxesField(_l("Agencies"), choices=[], validators=[REQUIRED])
    representatives = CheckboxesField(_l("Representatives"), choices=[], validators=[Optional()])
    agenda = note(_l("Agenda"), 3000)
    previous = SelectField(_l("Follows up"), choices=[], validators=[Optional()])
    invite_agency = SelectField(_l("Invite someone new for"), choices=[], validators=[Optional()])
    invite_email = StringField(
        _l("Their e-mail address"),
        validators=[
            Optional(),
            Length(max=200),
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                message=_l("This does not look like an e-mail address."),
            ),
        ],
    )


class RescheduleForm(PlanFields):
    pass


class MinutesForm(FlaskForm):
    attended = CheckboxesField(_l("Attended"), choices=[], validators=[Optional()])
    minutes = note(_l("Minutes"), 20000, required=True)
    decisions = note(_l("Decisions (one per line)"), 5000)


class ActionForm(FlaskForm):
    owner = SelectField(_l("Owner"), validators=[REQUIRED])
    description = note(_l("Action"), 1000, required=True)
    due_on = DateField(_l("Due"), validators=[REQUIRED])


class RespondForm(FlaskForm):
    response = RadioField(
        _l("Your answer"),
        choices=[
            (r.value, r.label) for r in (Response.ACCEPTED, Response.DECLINED, Response.PROPOSED)
        ],
        validators=[REQUIRED],
    )
    proposed_on = DateField(_l("Proposed date"), validators=[Optional()])
    proposed_time = TimeField(_l("Proposed time"), validators=[Optional()])


class ActionUpdateForm(FlaskForm):
    status = SelectField(_l("Status"), choices=ActionStatus.choices())
    outcome = note(_l("Outcome"), 2000)


class JoinForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            REQUIRED,
            Length(min=3, max=64),
            Regexp(
                r"^[a-z0-9][a-z0-9._-]*$",
                message=_l("Use lowercase letters, digits, dots and hyphens."),
            ),
        ],
    )
    password = PasswordField(_l("Password"), validators=[REQUIRED, Length(max=256)])
    confirm_password = PasswordField(
        _l("Password again"),
        validators=[
            REQUIRED,
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )
