"""The client's forms: registration, the request's steps, additions, account choices."""

from __future__ import annotations

from typing import Any

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from app.auth.passwords import MAX_PASSWORD_LENGTH
from app.core.digits import digits_filter
from app.core.fields import CheckboxesField, SelectField
from app.core.validators import Honeypot, PlainText, SingleLine
from app.intake.choices import (
    INTERVENTIONS,
    PHONE_QUESTIONS,
    RELATIONSHIPS,
    RELATIVE_HELP,
    RELATIVE_URGENCY_LABELS,
    SAFE_TIMES,
    YES_NO,
)
from app.intake.models import AgeBand, RequestKind, Urgency

MAX_STORY = 5000
MAX_ADDITION = 3000
MAX_MESSAGE = 3000


def honeypot() -> StringField:
    return StringField(
        _l("Leave this field empty"),
        validators=[Honeypot(), Length(max=200)],
        render_kw={"autocomplete": "off", "tabindex": "-1"},
    )


class RegisterForm(FlaskForm):
    # No username field: the portal makes the name (see services.register_client).
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Choose a password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("That password is too long.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("Password again"),
        validators=[
            DataRequired(message=_l("Type the password again.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    website = honeypot()


class KindForm(FlaskForm):
    kind = RadioField(
        _l("What is your situation?"),
        choices=RequestKind.choices(client=True),
        validators=[DataRequired(message=_l("Choose the answer that fits you best."))],
    )


class PersonForm(FlaskForm):
    relationship = RadioField(
        _l("How are you related to the person?"),
        choices=list(RELATIONSHIPS.items()),
        validators=[DataRequired(message=_l("Choose one answer."))],
    )
    age_band = RadioField(
        _l("How old is the person?"),
        choices=AgeBand.choices(client=True),
        validators=[DataRequired(message=_l("Choose one answer."))],
    )


class HelpForm(FlaskForm):
    help_wanted = CheckboxesField(
        _l("What help would you like?"),
        choices=list(INTERVENTIONS.items()),
        validators=[
            DataRequired(message=_l("Choose at least one, or \u201cI do not know yet\u201d."))
        ],
    )
    urgency = RadioField(
        _l("How urgent is it?"),
        choices=Urgency.choices(client=True),
        validators=[DataRequired(message=_l("Choose how urgent it is."))],
    )


class RelativeHelpForm(FlaskForm):
    """The help step for a relative: help for them, in words about their worry."""

    help_wanted = CheckboxesField(
        _l("What would help you?"),
        choices=list(RELATIVE_HELP.items()),
        validators=[
            DataRequired(message=_l("Choose at least one, or \u201cI do not know yet\u201d."))
        ],
    )
    urgency = RadioField(
        _l("How urgent is it?"),
        choices=list(RELATIVE_URGENCY_LABELS.items()),
        validators=[DataRequired(message=_l("Choose how urgent it is."))],
    )


def valid_phone(form: Any, field: Any) -> None:
    if not field.data:
        return
    try:
        number = phonenumbers.parse(field.data, "SE")
    except phonenumbers.NumberParseException as error:
        raise ValidationError(str(_l("This does not look like a phone number."))) from error
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(str(_l("This does not look like a phone number.")))


def yes_or_no(label: Any) -> RadioField:
    # Optional here: the form asks it only of someone who gave a phone number (validate).
    return RadioField(label, choices=YES_NO, validators=[Optional()])


class ContactForm(FlaskForm):
    contact_language = SelectField(_l("Which language do you want to speak?"))
    phone = StringField(
        _l("A phone number where it is safe to call you"),
        validators=[Optional(), Length(max=30), SingleLine(), valid_phone],
        filters=[digits_filter],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    safe_times = CheckboxesField(_l("When is it safe to call?"), choices=list(SAFE_TIMES.items()))
    voicemail_ok = yes_or_no(_l("Can we leave a voice message?"))
    sms_ok = yes_or_no(_l("Can we send a text message?"))
    code_word = StringField(
        _l("A code word we will say when we call"),
        validators=[
            Optional(),
            Length(max=40, message=_l("Use at most 40 characters.")),
            SingleLine(),
        ],
        render_kw={"autocomplete": "off"},
    )
    interpreter = yes_or_no(_l("Do you need an interpreter?"))

    def validate(self, extra_validators: Any = None) -> bool:
        """The call questions are required with a phone number, and not asked without one."""
        valid: bool = super().validate(extra_validators)
        if self.phone.data and not self.phone.errors:
            for field in (self.voicemail_ok, self.sms_ok, self.interpreter):
                if not field.data:
                    field.errors = [*field.errors, str(_l("Choose yes or no."))]
                    valid = False
        return valid

    def answers(self) -> dict[str, Any]:
        """What the step saves: without a phone number, nothing about calls is kept."""
        answers = {name: self[name].data for name in ("contact_language", "phone")}
        answers.update({name: self[name].data for name in PHONE_QUESTIONS})
        if not self.phone.data:
            answers.update({name: None for name in PHONE_QUESTIONS})
            answers["safe_times"] = []
        return answers


class IdentityForm(FlaskForm):
    name = StringField(
        _l("Your name (optional)"),
        validators=[
            Optional(),
            Length(max=120, message=_l("Use at most 120 characters.")),
            SingleLine(),
        ],
        render_kw={"autocomplete": "off"},
    )
    birth_year = StringField(
        _l("Year you were born (optional)"),
        validators=[
            Optional(),
            Regexp(r"^(19|20)[0-9]{2}$", message=_l("Write the year with four digits, like 1998.")),
        ],
        filters=[digits_filter],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )


def story_validators() -> list[Any]:
    return [
        Optional(),
        Length(max=MAX_STORY, message=_l("Use at most %(max)d characters.", max=MAX_STORY)),
        PlainText(),
    ]


class StoryForm(FlaskForm):
    account_text = TextAreaField(
        _l("Tell us what is happening (optional)"),
        validators=story_validators(),
        render_kw={"rows": 8},
    )


class RelativeStoryForm(FlaskForm):
    account_text = TextAreaField(
        _l("Tell us about your worry (optional)"),
        validators=story_validators(),
        render_kw={"rows": 8},
    )


class SubmitForm(FlaskForm):
    website = honeypot()


class AdditionForm(FlaskForm):
    text = TextAreaField(
        _l("Add information to your request"),
        validators=[
            DataRequired(message=_l("Write something to add.")),
            Length(
                max=MAX_ADDITION, message=_l("Use at most %(max)d characters.", max=MAX_ADDITION)
            ),
            PlainText(),
        ],
        render_kw={"rows": 4},
    )


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Message"),
        validators=[
            DataRequired(message=_l("Write a message.")),
            Length(max=MAX_MESSAGE, message=_l("Use at most %(max)d characters.", max=MAX_MESSAGE)),
            PlainText(),
        ],
        render_kw={"rows": 4},
    )


class NotificationForm(FlaskForm):
    email = StringField(
        _l("E-mail address for notices (optional)"),
        validators=[
            Optional(),
            Length(max=200),
            SingleLine(),
            Regexp(
                r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                message=_l("This does not look like an e-mail address."),
            ),
        ],
        render_kw={"autocomplete": "email", "inputmode": "email"},
    )
