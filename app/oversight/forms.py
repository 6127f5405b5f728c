from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Optional, Regexp

from app.cases.forms import note
from app.core.digits import digits_filter
from app.core.fields import DateField, SelectField


class LogFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    user = SelectField(_l("User"), choices=[], validators=[Optional()])
    case = StringField(
        _l("Case or request id"), validators=[Optional(), Regexp(r"^[0-9a-fA-F-]{36}$")]
    )
    action = SelectField(_l("Action"), choices=[], validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    flagged = BooleanField(_l("Only flagged events"))


class ReviewForm(FlaskForm):
    period = StringField(
        _l("Month reviewed"),
        validators=[
            DataRequired(),
            Regexp(r"^[0-9]{4}-(0[1-9]|1[0-2])$", message=_l("Write the month as YYYY-MM.")),
        ],
        filters=[digits_filter],
    )
    findings = note(_l("What you found"), 5000, required=True)
