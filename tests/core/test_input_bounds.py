"""Numbers, dates and multi-selects from a request are bounded everywhere: an edited address
or a forged form gets a translated 4xx (or a clamped page), never a 500, and a multi-select
keeps each answer once and only from its choices."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
import wtforms
from werkzeug.datastructures import MultiDict
from wtforms.validators import NumberRange

from app.auth.models import Role
from app.core import fields as core_fields
from app.extensions import db
from app.intake.models import RequestDraft
from tests.security.test_forms_property import discovered_forms

EXTREME_PAGES = ["99999999999999999999", "9" * 400, "-1", "0", "abc", "1e9", "١٢", ""]
EXTREME_DATES = ["0001-01-01", "9999-12-31", "1899-12-31", "2200-01-01"]


def every_field():
    for name, form_class in sorted(discovered_forms().items()):
        for field_name, unbound in vars(form_class).items():
            if isinstance(unbound, wtforms.fields.core.UnboundField):
                yield name, field_name, unbound


def test_every_date_field_in_every_form_is_bounded():
    """Given every form of the portal, each date it reads is the bounded date field."""
    dates = [(n, f) for n, f, u in every_field() if issubclass(u.field_class, wtforms.DateField)]
    assert len(dates) >= 10
    unbounded = [
        (n, f)
        for n, f, u in every_field()
        if issubclass(u.field_class, wtforms.DateField)
        and not issubclass(u.field_class, core_fields.DateField)
    ]
    assert unbounded == []


def test_every_number_field_in_every_form_has_both_bounds():
    numbers = [
        (name, field_name, unbound)
        for name, field_name, unbound in every_field()
        if issubclass(unbound.field_class, wtforms.IntegerField | wtforms.DecimalField)
    ]
    assert numbers
    for name, field_name, unbound in numbers:
        ranges = [v for v in unbound.kwargs.get("validators", []) if isinstance(v, NumberRange)]
        assert ranges, (name, field_name)
        assert all(r.min is not None and r.max is not None for r in ranges), (name, field_name)


def test_every_multi_select_in_every_form_is_the_bounded_one():
    multi = [
        (n, f)
        for n, f, u in every_field()
        if issubclass(u.field_class, wtforms.SelectMultipleField)
    ]
    assert len(multi) >= 8
    assert [
        (n, f)
        for n, f, u in every_field()
        if issubclass(u.field_class, wtforms.SelectMultipleField)
        and not issubclass(u.field_class, core_fields.CheckboxesField)
    ] == []


@pytest.mark.parametrize(
    ("form_name", "field_name"),
    [(n, f) for n, f, u in every_field() if issubclass(u.field_class, wtforms.SelectMultipleField)],
)
def test_each_multi_select_keeps_answers_once_and_refuses_floods_and_strangers(
    app, form_name, field_name
):
    """Given a multi-select of any form, repeats are kept once, more values than choices
    are refused, and a value outside the choices is refused, each with a message."""
    form_class = discovered_forms()[form_name]
    with app.test_request_context(headers={"Accept-Language": "en"}):

        def bound(values):
            form = form_class(
                formdata=MultiDict([(field_name, v) for v in values]), meta={"csrf": False}
            )
            field = form[field_name]
            # Choices the view fills in at request time are given here; fixed ones are kept.
            if not field.choices:
                field.choices = [("a", "A"), ("b", "B"), ("c", "C")]
            return form, field

        _form, field = bound([])
        choices = [str(c[0]) for c in field.choices]
        first = choices[0]
        form, field = bound([first] * max(len(choices), 2))  # repeats, within the count
        assert [str(v) for v in field.data] == [first]
        field.validate(form)
        assert not any("Too many" in str(e) or "not among" in str(e) for e in field.errors)

        form, field = bound([first] * (len(choices) + 1))
        assert not field.validate(form)
        assert "Too many answers" in " ".join(map(str, field.errors))

        form, field = bound(["not-a-choice-at-all"])
        assert not field.validate(form)
        assert field.errors


def test_a_flood_of_help_answers_are_refused_and_repeats_stored_once(app, client_browser):
    """Given a client's request step, a forged flood of one answer (500 times: larger
    floods are cut off by the request size limit) is refused with a translated 400 and
    nothing is saved; a repeated answer is saved once."""
    flood = {"help_wanted": ["support_talks"] * 500, "urgency": "soon"}
    response = client_browser.post("/my/request/help", flood)
    assert response.status_code == 400
    assert "Too many answers were sent" in response.get_data(as_text=True)
    with app.app_context():
        drafts = db.session.scalars(sa.select(RequestDraft)).all()
        assert all("support_talks" not in (d.data or "") for d in drafts)

    twice = {"help_wanted": ["support_talks", "support_talks", "relocation"], "urgency": "soon"}
    assert client_browser.post("/my/request/kind", {"kind": "defector"}).status_code == 302
    assert client_browser.post("/my/request/help", twice).status_code == 302
    with app.app_context():
        draft = db.session.scalars(sa.select(RequestDraft)).one()
        assert json.loads(draft.data)["help_wanted"] == ["support_talks", "relocation"]


@pytest.fixture
def lead(make_account, new_browser, log_in):
    browser = new_browser()
    log_in(browser, make_account(Role.TEAM_LEAD))
    return browser


@pytest.mark.parametrize("page", EXTREME_PAGES)
def test_any_page_number_on_the_case_list_is_clamped(lead, page):
    response = lead.get(f"/team/cases?page={page}")
    assert response.status_code == 200


@pytest.mark.parametrize("value", EXTREME_DATES)
@pytest.mark.parametrize("param", ["start", "end"])
def test_access_log_dates_out_of_range_are_a_translated_400(lead, param, value):
    response = lead.get(f"/team/access-log?{param}={value}")
    assert response.status_code == 400
    assert "Choose a date between 1900-01-01 and 2199-12-31." in response.get_data(as_text=True)


def test_the_widest_dates_still_work_on_the_access_log(lead):
    response = lead.get("/team/access-log?start=1900-01-01&end=2199-12-31")
    assert response.status_code == 200


def test_the_bounded_date_field_names_its_range(app):
    with app.test_request_context():

        class Form(wtforms.Form):
            day = core_fields.DateField()

        for value, ok in (
            ("1900-01-01", True),
            ("2199-12-31", True),
            ("0001-01-01", False),
            ("9999-12-31", False),
        ):
            form = Form(MultiDict({"day": value}))
            assert form.validate() is ok, value
        assert Form(MultiDict({"day": "2026-01-02"})).day.data == date(2026, 1, 2)
