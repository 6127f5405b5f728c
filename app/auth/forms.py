"""Forms of the login and account pages. Field names are part of the interface."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from app.auth.passwords import MAX_PASSWORD_LENGTH
from app.core.digits import code_filter

# A code field's text in the one form it is checked in: ASCII digits, no spaces or dashes,
# whatever keyboard typed it (see app/core/digits.py).
CODE_FILTERS = [code_filter]

CODE_VALIDATORS = [
    DataRequired(message=_l("Enter the 6-digit code from your app.")),
    Regexp(r"^[0-9]{6}$", message=_l("The code is 6 digits, like 123 456.")),
]


class LoginForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(message=_l("Enter your username.")), Length(max=200)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter your password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("That password is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class CodeForm(FlaskForm):
    code = StringField(
        _l("6-digit code"),
        validators=CODE_VALIDATORS,
        filters=CODE_FILTERS,
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class RecoveryForm(FlaskForm):
    recovery_code = StringField(
        _l("Recovery code"),
        validators=[
            DataRequired(message=_l("Enter one of your recovery codes.")),
            Regexp(
                r"^[a-zA-Z0-9]{10}$",
                message=_l("A recovery code has 10 letters and digits, like abcde-12345."),
            ),
        ],
        filters=CODE_FILTERS,
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[
            DataRequired(message=_l("Enter your current password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("That password is too long.")),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(message=_l("Choose a new password.")),
            Length(max=MAX_PASSWORD_LENGTH, message=_l("That password is too long.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(message=_l("Type the new password again.")),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""


class PasskeyForm(FlaskForm):
    """The browser's answer to a passkey ceremony, put here by app/static/js/passkey.js."""

    # A real answer is a few kilobytes at most; anything longer is refused before parsing.
    credential = HiddenField(validators=[DataRequired(), Length(max=16_000)])
