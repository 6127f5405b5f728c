"""Form fields shared by every feature."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any, cast

import wtforms
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms.fields.choices import Choice
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget, Select

OPTION = Markup('<option value="%s">%s</option>')
SELECTED_OPTION = Markup('<option value="%s" selected>%s</option>')


class FastSelect(Select):
    """WTForms' select, with each option written from one template.

    The stock widget formats every option's attributes through `Markup.format`, which costs
    more than everything else on a case list's filter bar together (four selects, twenty
    options: about 1.5 ms a page). Options with extra attributes still go the stock way.
    """

    @classmethod
    def render_option(cls, choice: Choice, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw:
            return cast(Markup, super().render_option(choice, **kwargs))
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        # A lazily translated label is translated once here, not again by `%`.
        label = str(choice.label) if choice.label is not None else ""
        template = SELECTED_OPTION if choice.selected else OPTION
        # `%` escapes both values ('"' included, as "&#34;").
        return template % (value, label or value)


class SelectField(wtforms.SelectField):
    widget = FastSelect()


class NamesSelect(FastSelect):
    """A select of names that no language translates (Sweden's 290 municipalities), its
    options written once per process and only the chosen ones marked on each page.

    The case file draws two such lists; option by option they were a tenth of its time.
    The output is FastSelect's, byte for byte (tests/core/test_fields.py).
    """

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        if self.multiple:
            kwargs["multiple"] = True
        flags = getattr(field, "flags", {})
        for key in dir(flags):
            if key in self.validation_attrs and key not in kwargs:
                kwargs[key] = getattr(flags, key)
        data = field.data if self.multiple else [field.data]
        chosen = {str(value) for value in data or () if value is not None}
        options = _written_options(tuple((str(v), str(label)) for v, label in field.choices))
        html = [f"<select {wtforms.widgets.html_params(name=field.name, **kwargs)}>"]
        html += [selected if value in chosen else plain for value, plain, selected in options]
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704  (each option escaped by `%` when written)


@functools.lru_cache(maxsize=16)
def _written_options(choices: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (value, OPTION % (value, label or value), SELECTED_OPTION % (value, label or value))
        for value, label in choices
    )


Choices = Sequence[tuple[Any, Any]]
# Every constant list of choices, its labels translated once per language and worker: the
# lists are module constants (hence keyed by identity) and the catalogues do not change
# while the application runs. Never for a list built per request (its id is reused).
_TRANSLATED: dict[tuple[int, str], tuple[tuple[str, str], ...]] = {}


def choices_in(choices: Choices, locale: str) -> tuple[tuple[str, str], ...]:
    """A module constant's choices as (value, words) in one language, for a GET filter form
    drawn without its widgets: on every visit of a list, translating twenty labels and
    rendering them option by option cost more than the list's rows."""
    key = (id(choices), locale)
    if key not in _TRANSLATED:
        _TRANSLATED[key] = tuple((str(value), str(label)) for value, label in choices)
    return _TRANSLATED[key]


# An option as WTForms writes it (attributes in its order: sorted by name).
CHOICE = Markup(
    '<div class="choice"><input %sid="%s" name="%s" %stype="%s" value="%s">'
    ' <label for="%s">%s</label></div>'
)
CHECKED, REQUIRED = Markup("checked "), Markup("required ")


def choice_inputs(field: wtforms.RadioField | wtforms.SelectMultipleField) -> Markup:
    """A radio field's or a checkbox field's options, each an input and its label, as
    WTForms' option widgets write them (tests/core/test_fields.py).

    WTForms makes a field of each option, with its own label and widget, for every page:
    the case file's consent and threat forms spent more on that than on their data.
    Options with attributes of their own go the stock way.
    """
    if field.render_kw:
        return _stock_choice_inputs(field)
    kind = "checkbox" if isinstance(field, wtforms.SelectMultipleField) else "radio"
    required = REQUIRED if getattr(field.flags, "required", False) else ""
    html = []
    for index, (value, label, checked, render_kw) in enumerate(field.iter_choices()):
        if render_kw:
            return _stock_choice_inputs(field)
        option_id = f"{field.id}-{index}"
        # `%` escapes every value that is not markup already.
        html.append(
            CHOICE
            % (
                CHECKED if checked else "",
                option_id,
                field.name,
                required,
                kind,
                str(value),
                option_id,
                str(label),
            )
        )
    return Markup("".join(html))  # noqa: S704  (each part escaped by `%`)


def _stock_choice_inputs(field: Any) -> Markup:
    return Markup(  # noqa: S704  (WTForms escapes what it writes)
        "".join(f'<div class="choice">{option()} {option.label()}</div>' for option in field)
    )


class CheckboxesField(wtforms.SelectMultipleField):
    """A multi-select shown as checkboxes: each answer once, only from its choices.

    WTForms keeps every repeated value it is sent, so one forged request could store the
    same answer 60,000 times and make every page that lists it megabytes long. Repeats are
    dropped here, and a request with more values than there are choices is refused whole
    (no honest form can send it), before any value is looked at.
    """

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    too_many = _l("Too many answers were sent. Go back and try again.")
    not_a_choice = _l("One of the answers is not among the choices.")

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.sent_count = len(valuelist)
        super().process_formdata(list(dict.fromkeys(valuelist)))

    def pre_validate(self, form: Any) -> None:
        allowed = {str(value) for value, *_rest in self.iter_choices()}
        if getattr(self, "sent_count", 0) > max(len(allowed), 1):
            raise ValidationError(str(self.too_many))
        if any(str(value) not in allowed for value in self.data or ()):
            raise ValidationError(str(self.not_a_choice))


# The widest span of dates the portal's work can mean: a birth, a consent, a deadline.
# Beyond it a date is a typing slip or a probe, and the arithmetic on it (a day after
# 9999-12-31, local midnight of 0001-01-01 in UTC) would overflow into a server error.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


class DateField(wtforms.DateField):
    """A date between EARLIEST_DATE and LATEST_DATE; anything else is a translated error."""

    out_of_range = _l("Choose a date between %(first)s and %(last)s.")

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and not EARLIEST_DATE <= self.data <= LATEST_DATE:
            raise ValidationError(
                str(self.out_of_range)
                % {"first": EARLIEST_DATE.isoformat(), "last": LATEST_DATE.isoformat()}
            )
