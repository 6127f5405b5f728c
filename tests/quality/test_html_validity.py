"""Every page the accessibility check rendered is valid HTML for the Nu HTML Checker.

Assistive technology reads the document the server sends; a stray end tag or a duplicate
id can silently break a label or a landmark. The checker runs once over all saved pages
(test-output/html/) with --errors-only: zero errors is the bar.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.quality import site_map
from tests.quality.conftest import CANARY, Rendered, summarise

pytestmark = pytest.mark.browser

VALUE = re.compile(r'(?<==")[^"]{12,}')


def problems(errors: list[dict[str, Any]]) -> list[str]:
    # Values (CSRF tokens, ids) differ from page to page; without them, lines group.
    return [
        f"{e['message']} «{VALUE.sub('…', e.get('extract', '').strip())[:100]}»" for e in errors
    ]


@pytest.mark.parametrize("audience", list(site_map.LANGUAGES))
def test_html_is_valid(
    audience: str, rendered: list[Rendered], vnu_errors: dict[Path, list[dict[str, Any]]]
) -> None:
    mine = [r for r in rendered if r.page.audience == audience]
    assert mine, f"no page rendered for {audience}"
    failing = [(r, vnu_errors[r.html_file]) for r in mine if vnu_errors[r.html_file]]
    assert not failing, (
        f"{len(failing)} of {len(mine)} {audience} pages have HTML errors:\n"
        + summarise([(r, problems(errors)) for r, errors in failing])
    )


def test_the_checker_reports_on_every_page_and_only_those(
    rendered: list[Rendered], vnu_errors: dict[Path, list[dict[str, Any]]]
) -> None:
    """The run includes a deliberately broken canary page: if the checker did not run, or
    its answers were matched to the wrong files, this says so."""
    assert set(vnu_errors) == {r.html_file for r in rendered} | {CANARY}
    assert any("p" in e["message"] for e in vnu_errors[CANARY]), vnu_errors[CANARY]
