"""WCAG 2.1 AA, as far as axe-core can tell, on every page in every language it speaks.

Public and client pages are checked in all ten public languages (right to left included),
staff pages in Swedish and English. Zero violations is the bar: a rule is never switched
off to pass; the page is fixed instead.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Browser

from tests.quality import site_map
from tests.quality.conftest import AXE_RUN, AXE_TAGS, Rendered, open_context, summarise
from tests.quality.scene import Scene

pytestmark = pytest.mark.browser


def problems(result: Rendered) -> list[str]:
    lines = []
    for violation in result.violations:
        where = "; ".join(f"{n['target']}: {n['html'][:120]}" for n in violation["nodes"][:3])
        lines.append(
            f"{violation['id']} ({violation['impact']}, {violation['count']} elements): "
            f"{violation['help']} -- {where}"
        )
    return lines


def test_every_get_page_is_checked(
    quality_app: tuple[Flask, Scene], rendered: list[Rendered]
) -> None:
    """A page nobody renders here is a page nobody checks: each GET route is either rendered
    (and answers as expected, without a detour to a login or an error) or skipped with a
    reason in site_map.SKIPPED."""
    app, _scene = quality_app
    endpoints = site_map.get_endpoints(app)
    adapter = app.url_map.bind("127.0.0.1")
    detours = [
        f"{r.label}: {r.status} at {r.final_path}, expected {r.page.status}"
        for r in rendered
        if not r.as_expected
    ]
    checked = {
        adapter.match(r.final_path, method="GET")[0]
        for r in rendered
        if r.as_expected and r.status == 200
    }
    unchecked = sorted(set(endpoints) - checked - set(site_map.SKIPPED))
    stale = sorted(set(site_map.SKIPPED) - set(endpoints))
    assert not detours, "pages that did not answer as expected:\n" + "\n".join(detours)
    assert not unchecked, (
        "GET routes neither checked nor skipped with a reason (add them to "
        f"tests/quality/site_map.py): {[(e, endpoints[e]) for e in unchecked]}"
    )
    assert not stale, f"SKIPPED names routes that no longer exist: {stale}"
    languages = {(r.page.audience, r.lang) for r in rendered}
    for audience, expected in site_map.LANGUAGES.items():
        assert {lang for a, lang in languages if a == audience} == set(expected), audience


def test_the_forms_sent_empty_were_checked_showing_what_is_missing(
    rendered: list[Rendered],
) -> None:
    """The error states checked here are real ones: each form sent empty came back marking
    what is missing (a field's message or the form's), in every language of its audience."""
    empty = [r for r in rendered if r.page.sent_empty]
    # By audience and page: the two password-change pages (client and staff) share an
    # endpoint, and a comparison by name alone would not notice one of them missing.
    expected = {(p.audience, p.name) for p in site_map.EMPTY_FORMS}
    assert len(expected) == len(site_map.EMPTY_FORMS) == 12
    # And a case's parts (their pages are built from the scene's case).
    expected |= {("caseworker", f"workspace.part-{slug}-empty") for slug in ("threat", "journal")}
    assert {(r.page.audience, r.page.name) for r in empty} == expected
    unmarked = [
        r.label
        for r in empty
        if not re.search(r'class="(field-errors|notice notice-error)"', r.html_file.read_text())
    ]
    assert not unmarked, unmarked


@pytest.mark.parametrize("audience", list(site_map.LANGUAGES))
def test_no_accessibility_violations(audience: str, rendered: list[Rendered]) -> None:
    mine = [r for r in rendered if r.page.audience == audience]
    assert mine, f"no page rendered for {audience}"
    failing = [r for r in mine if r.violations]
    assert not failing, (
        f"{len(failing)} of {len(mine)} {audience} pages break WCAG 2.1 AA rules:\n"
        + summarise([(r, problems(r)) for r in failing])
    )


def test_the_checker_finds_a_known_violation(checker_browser: Browser, axe_source: str) -> None:
    """axe, as set up here, reports an image without a text alternative: a clean result
    elsewhere means clean pages, not a checker that never ran."""
    context = open_context(checker_browser, site_map.PUBLIC, axe_source)
    page = context.new_page()
    page.set_content(
        '<!doctype html><html lang="en"><title>t</title><main><img src="x.png"></main></html>'
    )
    found = {v["id"] for v in page.evaluate(AXE_RUN, AXE_TAGS)}
    context.close()
    assert "image-alt" in found, found
