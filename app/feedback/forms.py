from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.core.validators import SingleLine
from app.intake.forms import honeypot


class FeedbackForm(FlaskForm):
    message = TextAreaField(
        _l("What did not work for you?"),
        validators=[
            DataRequired(message=_l("Tell us what did not work.")),
            Length(max=2000, message=_l("Use at most 2000 characters.")),
        ],
    )
    reply_to = StringField(
        _l("How can we answer you? (optional)"),
        validators=[
            Optional(),
            Length(max=200, message=_l("Use at most 200 characters.")),
            SingleLine(),
        ],
    )
    website = honeypot()
