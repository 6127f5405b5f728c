"""Forms of the administration pages: organisations, invitations and settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TimeField
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.cases.forms import REQUIRED
from app.core.fields import CheckboxesField, DateField, SelectField
from app.core.validators import SingleLine
from app.orgs.models import OrgKind
from app.settings.services import EDITABLE_PERIODS

EMAIL = Regexp(
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("This does not look like an e-mail address.")
)
NUMBER = InputRequired(message=_l("Write a whole number."))


def email_field(label: object, *, required: bool) -> StringField:
    first = REQUIRED if required else Optional()
    return StringField(
        label,
        validators=[first, Length(max=200), SingleLine(), EMAIL],
        render_kw={"autocomplete": "off", "inputmode": "email"},
    )


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[REQUIRED, Length(max=200), SingleLine()])
    kind = SelectField(_l("Kind"), choices=OrgKind.choices())
    mailbox = email_field(_l("Functional mailbox (for invitations)"), required=False)
    active = BooleanField(_l("Active"), default=True)


class InviteForm(FlaskForm):
    organisation = SelectField(_l("Organisation"), validators=[REQUIRED])
    role = SelectField(_l("Role"), validators=[REQUIRED])
    email = email_field(_l("E-mail address"), required=True)


class HttpsUrl:
    """The quick-exit target must be a plain https address of an ordinary site."""

    message = _l("Write a full address that starts with https://.")

    def __call__(self, form: object, field: StringField) -> None:
        value = field.data or ""
        if not value.startswith("https://") or len(value) <= len("https://") or " " in value:
            raise ValidationError(str(self.message))


def period_field(rule_key: str, label: object) -> IntegerField:
    bounds = EDITABLE_PERIODS[rule_key]
    return IntegerField(
        label, validators=[NUMBER, NumberRange(min=bounds.minimum, max=bounds.maximum)]
    )


class SettingsForm(FlaskForm):
    # Field names are the rule keys they set (see app/settings/services.py).
    first_contact_acute = period_field(
        "first_contact_acute",
        _l("First contact after an urgent request (working days; 0 is the same day)"),
    )
    first_contact_other = period_field(
        "first_contact_other", _l("First contact after other requests (working days)")
    )
    unsubmitted_client_account = period_field(
        "unsubmitted_client_account",
        _l("Client accounts that never submitted are removed after (days)"),
    )
    request_without_case = period_field(
        "request_without_case", _l("Requests that never became a case are deleted after (months)")
    )
    sent_mail = period_field("sent_mail", _l("Sent e-mail is deleted after (days)"))
    audit_events = period_field("audit_events", _l("Audit events are deleted after (years)"))
    enabled_languages = CheckboxesField(_l("Languages offered to the public"), choices=[])

    def validate_enabled_languages(self, field: CheckboxesField) -> None:
        # Swedish is the portal's own language and every fallback ends there.
        if "sv" not in (field.data or []):
            raise ValidationError(str(_l("Swedish must stay offered.")))

    quick_exit_url = StringField(
        _l("Where “Leave this page quickly” goes"),
        validators=[REQUIRED, Length(max=200), SingleLine(), HttpsUrl()],
    )
    neutral_title = StringField(
        _l("Neutral page title (shown in browser tabs and history)"),
        validators=[REQUIRED, Length(max=60), SingleLine()],
    )
    dpo_contact = StringField(
        _l("How to reach the data protection officer (shown in the privacy notice)"),
        validators=[Optional(), Length(max=300), SingleLine()],
    )
    accessibility_reviewed_on = DateField(
        _l("Accessibility statement last reviewed on"), validators=[REQUIRED]
    )
    office_opens = TimeField(
        _l("Office hours on weekdays: from"),
        validators=[InputRequired(message=_l("Write a time like 07:30."))],
    )
    office_closes = TimeField(
        _l("Office hours on weekdays: to"),
        validators=[InputRequired(message=_l("Write a time like 07:30."))],
    )

    def validate_office_closes(self, field: TimeField) -> None:
        if self.office_opens.data and field.data and field.data <= self.office_opens.data:
            raise ValidationError(str(_l("The office closes after it opens.")))

    # Shown only when there is more than one exit team (the view removes it otherwise).
    intake_organisation = SelectField(
        _l("Exit team that receives requests from the public pages"), validators=[REQUIRED]
    )
