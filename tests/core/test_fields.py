"""The select widget writes the same options as WTForms' own, only faster."""

from __future__ import annotations

import re

import wtforms
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import Choice

from app.core.fields import FastSelect, SelectField

CHOICES = [("", _l("All")), ('x"<y>', "A & B"), ("closed", _l("Closed"))]


class Stock(wtforms.Form):
    status = wtforms.SelectField("Status", choices=CHOICES, default="closed")


class Fast(wtforms.Form):
    status = SelectField("Status", choices=CHOICES, default="closed")


def options(html: str) -> list[tuple[str, bool, str]]:
    """(value, selected, label) of each option, whatever the attributes' order."""
    return [
        (re.search(r'value="([^"]*)"', attrs).group(1), " selected" in f" {attrs}", label)
        for attrs, label in re.findall(r"<option ([^>]*)>([^<]*)</option>", html)
    ]


def test_options_equal_the_stock_widget_s_escaped_and_translated(app: Flask) -> None:
    with app.test_request_context(), force_locale("sv"):
        fast, stock = str(Fast().status()), str(Stock().status())
    assert options(fast) == options(stock)
    assert options(fast) == [
        ("", False, "Alla"),
        ("x&#34;&lt;y&gt;", False, "A &amp; B"),
        ("closed", True, "Avslutad"),
    ]
    assert fast.startswith('<select id="status" name="status">')


def test_an_option_with_attributes_of_its_own_goes_the_stock_way() -> None:
    choice = Choice("a", "A", False, {"disabled": True})
    assert FastSelect.render_option(choice) == '<option disabled value="a">A</option>'
    assert FastSelect.render_option(Choice("b", "", True, {})) == (
        '<option value="b" selected>b</option>'
    )


def test_a_select_of_names_writes_what_the_fast_widget_writes(app: Flask) -> None:
    """NamesSelect keeps its options from page to page: the same HTML, only the chosen
    marked, for one choice, several, none, and a name that needs escaping."""
    from werkzeug.datastructures import MultiDict

    from app.cases.forms import MunicipalitiesField, MunicipalityField
    from app.core.fields import NamesSelect

    class Names(wtforms.Form):
        one = MunicipalityField("One")
        many = MunicipalitiesField("Many")

    for sent in (
        MultiDict(),
        MultiDict([("one", "0180"), ("many", "0180"), ("many", "1480")]),
        MultiDict([("one", ""), ("many", "9999")]),
    ):
        form = Names(sent)
        form.one.keep('Gamla "<namnet>"')
        for field, multiple in ((form.one, False), (form.many, True)):
            fast = str(FastSelect(multiple=multiple)(field))
            assert str(NamesSelect(multiple=multiple)(field)) == fast
            assert str(field()) == fast  # the fields draw with NamesSelect
    chosen = str(Names(MultiDict([("many", "0180"), ("many", "1480")])).many())
    assert chosen.count(" selected>") == 2


def test_choice_inputs_write_what_wtforms_option_widgets_write(app: Flask) -> None:
    """Radio buttons and checkboxes written in one pass: the same inputs and labels as
    WTForms' own option fields, chosen or not, required or not, escaped and translated."""
    from werkzeug.datastructures import MultiDict
    from wtforms.validators import InputRequired

    from app.core.fields import CheckboxesField, _stock_choice_inputs, choice_inputs

    class Answers(wtforms.Form):
        level = wtforms.RadioField("Level", choices=CHOICES, validators=[InputRequired()])
        flag = wtforms.RadioField("Flag", choices=[("yes", "Ja"), ("no", "Nej")])
        many = CheckboxesField("Many", choices=CHOICES)

    for sent in (
        MultiDict(),
        MultiDict([("level", "closed"), ("flag", "no"), ("many", "closed"), ("many", 'x"<y>')]),
    ):
        form = Answers(sent)
        with app.test_request_context(), force_locale("sv"):
            for field in (form.level, form.flag, form.many):
                fast = str(choice_inputs(field))
                assert fast == str(_stock_choice_inputs(field))
                assert fast.count("<input") == len(field.choices)
    with app.test_request_context(), force_locale("sv"):
        chosen = str(choice_inputs(Answers(MultiDict([("many", "closed")])).many))
    assert '<input checked id="many-2" name="many" type="checkbox" value="closed">' in chosen
    assert '<label for="many-1">A &amp; B</label>' in chosen and "Avslutad" in chosen
    required = str(choice_inputs(Answers().level))
    assert required.count(" required ") == len(CHOICES)


def test_choices_with_attributes_of_their_own_go_the_stock_way() -> None:
    from app.core.fields import choice_inputs

    class Asked(wtforms.Form):
        answer = wtforms.RadioField("Answer", choices=[("a", "A")], render_kw={"disabled": True})

    assert 'disabled id="answer-0"' in str(choice_inputs(Asked().answer))
