"""Small counts stay hidden under subtraction: whoever has the CSV, knows every table's
total and knows the suppression rule cannot work out any small count."""

from __future__ import annotations

import csv
import io
import itertools
import random

import pytest

from app.auth.models import Role
from app.oversight import statistics as stats
from app.oversight.statistics import SUPPRESS_BELOW, Table, as_csv, complementary_suppression


def _with_hidden(tables: list[Table]) -> list[Table]:
    hidden = complementary_suppression(tables)
    return [
        Table(t.key, t.rows, {i: m for (k, i), m in hidden.items() if k == t.key}) for t in tables
    ]


def _published(tables: list[Table]) -> list[list[str]]:
    return list(csv.reader(io.StringIO(as_csv(_with_hidden(tables)))))


def _compositions(total: int, parts: int):
    """Every way to write `total` as `parts` counts of at least 1."""
    for cut in itertools.combinations(range(1, total), parts - 1):
        bounds = (0, *cut, total)
        yield tuple(b - a for a, b in itertools.pairwise(bounds))


FAMILIES = [("requests_by_kind", "requests_by_month", "requests_by_language")]
UNBOUNDED = 10**6


def what_can_be_worked_out(
    published: list[list[str]], totals: dict[str, int] | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """The attack: every subtraction the CSV allows, repeated until nothing changes.

    Known sums: each table's total when a table of its population shows every cell (or
    when given in `totals`: the team knows how many requests it had), and the actions
    done on time and late, which add up to the actions done when that is shown. Each
    hidden cell starts from what its mark says under the published rule: "<5" is 1 to 4;
    ".." beside a "<5" is 5 up to the smallest count shown in its table; in a table with
    no "<5", ".." is any count. Returns each hidden cell's remaining (least, most).
    """
    tables: dict[str, dict[str, str]] = {}
    for key, label, text in published[1:]:
        tables.setdefault(key, {})[label] = text
    low: dict[tuple[str, str], int] = {}
    high: dict[tuple[str, str], int] = {}
    for key, cells in tables.items():
        shown = [int(t) for t in cells.values() if t.isdigit()]
        has_small = "<5" in cells.values()
        for label, text in cells.items():
            cell = (key, label)
            if text.isdigit():
                low[cell] = high[cell] = int(text)
            elif text == "<5":
                low[cell], high[cell] = 1, SUPPRESS_BELOW - 1
            elif has_small:
                low[cell], high[cell] = SUPPRESS_BELOW, min(shown, default=UNBOUNDED)
            else:
                low[cell], high[cell] = 1, UNBOUNDED
    sums: list[tuple[list[tuple[str, str]], int]] = []
    known = dict(totals or {})
    for family in FAMILIES:
        for key in family:
            cells = tables.get(key, {})
            if cells and all(t.isdigit() for t in cells.values()):
                for other in family:
                    known.setdefault(other, sum(int(t) for t in cells.values()))
    for key, total in known.items():
        if key in tables:
            sums.append(([(key, label) for label in tables[key]], total))
    done = tables.get("actions", {}).get("done", "")
    if done.isdigit() and "actions_on_time" in tables:
        parts = [
            ("actions_on_time", p) for p in ("on_time", "late") if p in tables["actions_on_time"]
        ]
        sums.append((parts, int(done)))
    changed = True
    while changed:
        changed = False
        for cells, total in sums:
            for cell in cells:
                others = [c for c in cells if c != cell]
                least = max(low[cell], total - sum(high[c] for c in others))
                most = min(high[cell], total - sum(low[c] for c in others))
                if (least, most) != (low[cell], high[cell]) and least <= most:
                    low[cell], high[cell] = least, most
                    changed = True
    return {
        cell: (low[cell], high[cell])
        for cell in low
        if low[cell] != high[cell] or tables[cell[0]][cell[1]] in ("<5", "..")
    }


def _pinned(tables: list[Table], published: list[list[str]], totals=None) -> set:
    ranges = what_can_be_worked_out(published, totals)
    return {
        (t.key, label)
        for t in tables
        for label, count in t.rows
        if 0 < count < SUPPRESS_BELOW and ranges[t.key, label][1] - ranges[t.key, label][0] < 1
    }


def _random_family(rng: random.Random) -> list[Table]:
    total = rng.randint(1, 22)
    tables = []
    for key, labels in (
        ("requests_by_kind", ["defector", "relative", "threatened"]),
        ("requests_by_month", ["2026-01", "2026-02", "2026-03", "2026-04"]),
        ("requests_by_language", ["ar", "sv", "tr"]),
    ):
        parts = rng.randint(1, min(len(labels), total))
        counts = rng.choice(list(_compositions(total, parts)))
        tables.append(Table(key, list(zip(rng.sample(labels, parts), counts, strict=True))))
    return tables


def test_a_month_is_no_longer_the_total_minus_the_other_months():
    """Given 8 requests, 6 in one month and 2 in the next, the CSV used to show the kind's
    8 and the first month's 6, so the hidden month was 2; now it cannot be worked out."""
    tables = [
        Table("requests_by_kind", [("defector", 8)]),
        Table("requests_by_month", [("2026-01", 6), ("2026-02", 2)]),
        Table("requests_by_language", [("sv", 8)]),
    ]
    published = _published(tables)
    assert ["requests_by_month", "2026-02", "<5"] in published
    assert ["requests_by_month", "2026-01", "6"] not in published
    assert _pinned(tables, published) == set()
    # The old rule showed the hidden month as the total less the months shown.
    old = [r if r[2] != ".." else [r[0], r[1], "6"] for r in published]
    assert _pinned(tables, old) == {("requests_by_month", "2026-02")}


def test_late_actions_are_no_longer_the_done_ones_minus_those_on_time():
    tables = [
        Table("actions", [("done", 11), ("open", 12)]),
        Table("actions_on_time", [("late", 2), ("on_time", 9), ("overdue", 6)]),
    ]
    published = _published(tables)
    assert ["actions_on_time", "on_time", "9"] not in published
    assert _pinned(tables, published) == set()


@pytest.mark.parametrize("seed", range(200))
def test_no_small_count_can_be_worked_out_from_any_random_family_of_tables(seed):
    """Given random requests split by kind, month and language (every table with the same
    total), every subtraction the CSV allows leaves each small count at least two values."""
    tables = _random_family(random.Random(seed))
    published = _published(tables)
    total = sum(count for _label, count in tables[0].rows)
    assert _pinned(tables, published) == set(), published
    # Even for someone who knows the total from elsewhere, unless no table shows it (then
    # every table is hidden whole and only says how many rows it has).
    if any(r[2].isdigit() for r in published[1:]):
        given = {t.key: total for t in tables}
        assert _pinned(tables, published, given) == set(), published


def test_the_page_and_the_csv_hide_the_complementary_cells(
    app, make_account, new_browser, log_in, monkeypatch
):
    """Given the team's tables, the statistics page and its CSV both hide the month that
    subtraction would otherwise reveal, and say what '..' means."""
    family = [
        Table("requests_by_kind", [("defector", 8)]),
        Table("requests_by_month", [("2026-01", 6), ("2026-02", 2)]),
        Table("requests_by_language", [("sv", 8)]),
    ]
    monkeypatch.setitem(stats._SOURCE_OF, "requests_by_kind", lambda _org: family)
    monkeypatch.setitem(stats._SOURCE_OF, "requests_by_month", lambda _org: family)
    monkeypatch.setitem(stats._SOURCE_OF, "requests_by_language", lambda _org: family)
    browser = new_browser()
    log_in(browser, make_account(Role.TEAM_LEAD))
    body = browser.client.get("/team/statistics.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body)))
    assert ["requests_by_month", "2026-01", ".."] in rows
    assert ["requests_by_month", "2026-02", "<5"] in rows
    page = browser.get("/team/statistics").get_data(as_text=True)
    assert "<td>6</td>" not in page
    assert "hidden as well" in page


def _random_actions(rng: random.Random) -> list[Table]:
    done, open_, doing = rng.randint(0, 14), rng.randint(0, 14), rng.randint(0, 6)
    on_time = rng.randint(0, done)
    overdue = rng.randint(0, open_ + doing)
    status = [("done", done), ("in_progress", doing), ("open", open_)]
    timeliness = [("late", done - on_time), ("on_time", on_time), ("overdue", overdue)]
    return [
        Table("actions", [(label, n) for label, n in status if n]),
        Table("actions_on_time", [(label, n) for label, n in timeliness if n]),
    ]


@pytest.mark.parametrize("seed", range(200))
def test_no_small_count_of_actions_can_be_worked_out(seed):
    """Given random actions by status and by timeliness (done = on time + late), no small
    count can be worked out, even by someone who knows the total of every table that
    shows a count (a table hidden whole, a single small row say, shows none)."""
    tables = _random_actions(random.Random(seed))
    published = _published(tables)
    assert _pinned(tables, published) == set(), published
    totals = {
        t.key: sum(n for _label, n in t.rows)
        for t in tables
        if any(r[0] == t.key and r[2].isdigit() for r in published[1:])
    }
    assert _pinned(tables, published, totals) == set(), published
