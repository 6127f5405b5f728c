"""Template helpers are registered in one place: app/templating.py."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGISTERS = re.compile(
    r"app_template_(global|filter|test)|template_(global|filter|test)\(|jinja_env\."
    r"|context_processor|template_context_processors"
)


def test_no_module_but_templating_registers_template_helpers() -> None:
    # Given every module of the portal
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "app").rglob("*.py"))
        if path.name != "templating.py" and REGISTERS.search(path.read_text(encoding="utf-8"))
    ]
    # Then only app/templating.py tells Jinja what templates may call
    assert offenders == []


def test_the_helpers_features_export_are_there_for_templates(app) -> None:
    globals_ = app.jinja_env.globals
    for name in (
        "case_status_label",
        "consultation_status_label",
        "placement_status_label",
        "org_kind_label",
        "text_direction",
        "today",
    ):
        assert callable(globals_[name]), name
    assert "from_json" in app.jinja_env.filters


def test_a_reference_reads_left_to_right_and_is_escaped(app) -> None:
    with app.test_request_context("/?lang=en"):
        template = app.jinja_env.from_string(
            "<h1>{{ _('Consultation for %(reference)s', reference=ref|reference) }}</h1>"
        )
        assert template.render(ref="K-2026-000001") == (
            '<h1>Consultation for <span dir="ltr">K-2026-000001</span></h1>'
        )
        assert "<b>" not in template.render(ref="<b>K</b>")
