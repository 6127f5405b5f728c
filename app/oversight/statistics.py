"""Figures for evaluation: counts only, small cells suppressed, nothing personal."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from app.cases.models import Case, Intervention
from app.consent.models import Consent
from app.consultations.models import Action, ActionStatus, Consultation, ConsultationStatus
from app.core.clock import utcnow
from app.extensions import db
from app.intake.models import ClientRequest
from app.placements.models import Placement, PlacementRequest, RequestStatus
from app.rules import LOCAL_TIME

# Cells under this many are shown as "<5": a small count can point at a person.
SUPPRESS_BELOW = 5
SMALL_MARK = f"<{SUPPRESS_BELOW}"
# A larger count hidden as well ("complementary suppression"), so that no small one can be
# worked out from the total: a month is the total minus the other months.
ALSO_HIDDEN_MARK = ".."


@dataclass(frozen=True)
class Table:
    key: str
    rows: list[tuple[str, int]]
    # Cells hidden by complementary suppression, {row index: mark}; team_tables sets it,
    # as it sees the tables whose cells add up to one another.
    hidden: dict[int, str] | None = None

    def shown(self) -> list[tuple[str, str]]:
        hidden = self.hidden
        if hidden is None:  # a table on its own: its total is still taken as known
            hidden = {i: mark for (_key, i), mark in complementary_suppression([self]).items()}
        return [
            (label, hidden[index] if index in hidden else str(count))
            for index, (label, count) in enumerate(self.rows)
        ]


Cell = tuple[str, int]  # (table key, row index)

# Sums an outsider can work out from the tables themselves, besides each table's total:
# the actions done on time and done late add up to the actions done.
LINKED_SUMS: list[tuple[tuple[str, tuple[str, ...]], tuple[str, str]]] = [
    (("actions_on_time", ("on_time", "late")), ("actions", "done")),
]
# Tables of one population: each shows the same total.
FAMILIES: list[tuple[str, ...]] = [
    ("requests_by_kind", "requests_by_month", "requests_by_language"),
]
_UNBOUNDED = 10**9


@dataclass
class _Equation:
    """Cells that add up to a known number: plus-cells minus minus-cells equals total."""

    plus: list[Cell]
    minus: list[Cell]
    total: int


def complementary_suppression(tables: list[Table]) -> dict[Cell, str]:
    """Which cells to hide, and how: {(table key, row index): mark}.

    Every table's total is taken as known: the tables of one population add up to the same
    number (requests by kind, by month, by language), a team knows how many requests it
    had, and the actions done on time and late add up to the actions done. Hiding the
    small cells alone is then undone by subtraction (a month is the total minus the other
    months). So larger cells are hidden too ("..", each table's smallest first) until
    every subtraction, repeated until it yields nothing new, leaves each small cell at
    least two values, for someone who knows those sums, every shown cell and this rule (a
    "<5" cell is 1 to 4; a ".." beside one is 5 or more and no more than the shown cells
    of its table). A table that cannot be protected so is hidden whole, every cell as "..",
    which then says nothing about which cells were small; so is every table that would
    show the same total.
    """
    counts: dict[Cell, int] = {}
    equations: list[_Equation] = []
    by_label: dict[tuple[str, str], Cell] = {}
    for table in tables:
        cells = [(table.key, i) for i in range(len(table.rows))]
        equations.append(_Equation(cells, [], sum(count for _label, count in table.rows)))
        for (label, count), cell in zip(table.rows, cells, strict=True):
            counts[cell] = count
            by_label[table.key, label] = cell
    for (key, parts), whole in LINKED_SUMS:
        linked = [by_label[key, part] for part in parts if (key, part) in by_label]
        if linked or whole in by_label:
            minus = [by_label[whole]] if whole in by_label else []
            equations.append(_Equation(linked, minus, 0))
    small = {cell for cell, count in counts.items() if 0 < count < SUPPRESS_BELOW}
    hidden = set(small)
    withheld: set[Cell] = set()
    while pinned := _pinned(counts, equations, small, hidden, withheld):
        more = _next_to_hide(counts, equations, pinned, hidden)
        if more is not None:
            hidden.add(more)
            continue
        keys = {key for key, _i in pinned}
        keys |= {k for family in FAMILIES if keys & set(family) for k in family}
        hidden_whole = {cell for cell in counts if cell[0] in keys}
        if hidden_whole <= withheld:
            break  # cannot happen: a table hidden whole shows no total to work from
        withheld |= hidden_whole
        hidden |= hidden_whole
    for family in FAMILIES:
        of_family = {cell for cell in counts if cell[0] in family}
        if withheld & of_family:
            # Four and four make eight, if eight shows beside them: a total goes with them.
            withheld |= of_family
            hidden |= of_family
    return {
        cell: SMALL_MARK if cell in small and cell not in withheld else ALSO_HIDDEN_MARK
        for cell in hidden
    }


def _next_to_hide(
    counts: dict[Cell, int], equations: list[_Equation], pinned: set[Cell], hidden: set[Cell]
) -> Cell | None:
    """The smallest shown cell of a table tied to a pinned cell through hidden cells."""
    reached = set(pinned)
    tables: set[str] = set()
    grew = True
    while grew:
        grew = False
        for equation in equations:
            cells = equation.plus + equation.minus
            if reached & set(cells):
                tables |= {key for key, _i in cells}
                new = {c for c in cells if c in hidden} - reached
                if new:
                    reached |= new
                    grew = True
    candidates = []
    for key in tables:
        shown = [c for c in counts if c[0] == key and c not in hidden]
        if shown:
            candidates.append(min(shown, key=lambda c: (counts[c], c)))
    return min(candidates, key=lambda c: (counts[c], c)) if candidates else None


def _pinned(
    counts: dict[Cell, int],
    equations: list[_Equation],
    small: set[Cell],
    hidden: set[Cell],
    withheld: set[Cell],
) -> set[Cell]:
    """The small cells that every subtraction together narrows to one value."""
    low: dict[Cell, int] = {}
    high: dict[Cell, int] = {}
    for cell, count in counts.items():
        if cell not in hidden:
            low[cell] = high[cell] = count
        elif cell in withheld:
            low[cell], high[cell] = 1, _UNBOUNDED
        elif cell in small:
            low[cell], high[cell] = 1, SUPPRESS_BELOW - 1
        else:
            # Hidden smallest first: no more than any shown cell of its table.
            shown = [n for c, n in counts.items() if c[0] == cell[0] and c not in hidden]
            low[cell] = SUPPRESS_BELOW
            high[cell] = min(shown) if shown else _UNBOUNDED
    # A table hidden whole shows no total (nor does any table of its population), and a
    # withheld cell is not counted in what the other cells add up to.
    usable = [
        e for e in equations if not any(c in withheld for c in e.plus + e.minus) or e.total == 0
    ]
    changed = True
    while changed:
        changed = False
        for equation in usable:
            terms = [(c, 1) for c in equation.plus] + [(c, -1) for c in equation.minus]
            all_low = sum(low[c] if s > 0 else -high[c] for c, s in terms)
            all_high = sum(high[c] if s > 0 else -low[c] for c, s in terms)
            for cell, sign in terms:
                rest_low = all_low - (low[cell] if sign > 0 else -high[cell])
                rest_high = all_high - (high[cell] if sign > 0 else -low[cell])
                # sign * cell = total - rest
                if sign > 0:
                    least, most = equation.total - rest_high, equation.total - rest_low
                else:
                    least, most = rest_low - equation.total, rest_high - equation.total
                least, most = max(low[cell], least), min(high[cell], most)
                if (least, most) != (low[cell], high[cell]) and least <= most:
                    low[cell], high[cell] = least, most
                    changed = True
    return {
        cell
        for cell in small
        if cell in hidden and cell not in withheld and high[cell] - low[cell] < 1
    }


def _table(key: str, counter: Counter[str]) -> Table:
    return Table(key, sorted(counter.items()))


def _counts(query: sa.Executable) -> list[tuple[Any, ...]]:
    """(category…, count) rows of a GROUP BY: the database counts, Python only labels."""
    return [tuple(row) for row in db.session.execute(query)]


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _month(moment: Any) -> sa.ColumnElement[str]:
    """The UTC year and month of a stored time, as "YYYY-MM"."""
    if _dialect() == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", moment), "YYYY-MM")
    return sa.func.strftime("%Y-%m", moment)  # SQLite stores UTC as text


def _seconds_between(start: Any, end: Any) -> sa.ColumnElement[float]:
    if _dialect() == "postgresql":
        return sa.cast(sa.extract("epoch", end - start), sa.Float)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def team_tables(organisation_id: uuid.UUID, keys: Collection[str] | None = None) -> list[Table]:
    """The team's tables named by `keys` (all by default), in page order. Only the queries
    those tables need run: a chart image asks for one table, not for the whole page's worth.

    Aggregates in SQL: a team's history runs to tens of thousands of rows, and loading them
    as objects would also decrypt every encrypted column for nothing.
    """
    wanted = TABLE_KEYS if keys is None else [key for key in TABLE_KEYS if key in keys]
    built = [
        table
        for source in dict.fromkeys(_SOURCE_OF[key] for key in wanted)
        for table in source(organisation_id)
    ]
    # Decided over every table built, not one by one: their cells add up to one another.
    hidden = complementary_suppression(built)
    by_key = {
        table.key: replace(
            table, hidden={i: mark for (key, i), mark in hidden.items() if key == table.key}
        )
        for table in built
    }
    return [by_key[key] for key in wanted]


def _tally(rows: Iterable[tuple[Any, int]]) -> Counter[str]:
    counter = Counter[str]()
    for label, count in rows:
        counter[label] += count
    return counter


def _requests(organisation_id: uuid.UUID) -> list[Table]:
    requests = Counter[tuple[str, str, str]]()
    # Grouped by its label: PostgreSQL would not see two bound copies as one expression.
    month = _month(ClientRequest.submitted_at).label("month")
    for kind, month_text, language, count in _counts(
        sa.select(ClientRequest.kind, month, ClientRequest.language, sa.func.count())
        .where(ClientRequest.organisation_id == organisation_id)
        .group_by(ClientRequest.kind, month, ClientRequest.language)
    ):
        requests[kind.value, month_text, language] += count
    return [
        _table("requests_by_kind", _tally((k[0], n) for k, n in requests.items())),
        _table("requests_by_month", _tally((k[1], n) for k, n in requests.items())),
        _table("requests_by_language", _tally((k[2], n) for k, n in requests.items())),
    ]


def _cases(organisation_id: uuid.UUID) -> list[Table]:
    cases = _counts(
        sa.select(Case.source, Case.outcome, sa.func.count())
        .where(Case.organisation_id == organisation_id)
        .group_by(Case.source, Case.outcome)
    )
    return [
        _table("cases_by_source", _tally((source.value, n) for source, _o, n in cases)),
        _table(
            "outcomes",
            _tally((outcome.value, n) for _s, outcome, n in cases if outcome is not None),
        ),
    ]


def _consents(organisation_id: uuid.UUID) -> list[Table]:
    consents = _counts(
        sa.select(Consent.given, sa.func.count())
        .join(Case, Case.id == Consent.case_id)
        .where(Case.organisation_id == organisation_id, Consent.given.is_not(None))
        .group_by(Consent.given)
    )
    answers = _tally(("given" if given else "refused", n) for given, n in consents)
    return [_table("consent_answers", answers)]


def _consultations(organisation_id: uuid.UUID) -> list[Table]:
    consultations = _counts(
        sa.select(Consultation.status, sa.func.count())
        .where(
            Consultation.organisation_id == organisation_id,
            Consultation.status != ConsultationStatus.PLANNED,
        )
        .group_by(Consultation.status)
    )
    return [_table("consultations", _tally((status.value, n) for status, n in consultations))]


def _actions(organisation_id: uuid.UUID) -> list[Table]:
    actions = _actions_by_timeliness(Case.organisation_id == organisation_id)
    return [
        _table("actions", _tally((status.value, n) for status, _t, n in actions)),
        _table("actions_on_time", _tally((t, n) for _s, t, n in actions if t is not None)),
    ]


def _interventions(organisation_id: uuid.UUID) -> list[Table]:
    interventions = _counts(
        sa.select(Intervention.kind, sa.func.count())
        .join(Case, Case.id == Intervention.case_id)
        .where(Case.organisation_id == organisation_id)
        .group_by(Intervention.kind)
    )
    return [_table("interventions_by_type", _tally((kind, n) for kind, n in interventions))]


def _placement_answers(organisation_id: uuid.UUID) -> list[Table]:
    answers = _counts(
        sa.select(PlacementRequest.status, sa.func.count())
        .join(Placement, Placement.id == PlacementRequest.placement_id)
        .where(
            Placement.organisation_id == organisation_id,
            PlacementRequest.status != RequestStatus.SENT,
        )
        .group_by(PlacementRequest.status)
    )
    return [_table("placement_answers", _tally((s.value, n) for s, n in answers))]


# Each table, in the order the page shows them, and the query that gives it (one query
# may give several tables).
_SOURCE_OF: dict[str, Callable[[uuid.UUID], list[Table]]] = {
    "requests_by_kind": _requests,
    "requests_by_month": _requests,
    "requests_by_language": _requests,
    "cases_by_source": _cases,
    "consent_answers": _consents,
    "consultations": _consultations,
    "actions": _actions,
    "actions_on_time": _actions,
    "interventions_by_type": _interventions,
    "placement_answers": _placement_answers,
    "outcomes": _cases,
}
TABLE_KEYS = tuple(_SOURCE_OF)


def _actions_by_timeliness(
    team_case: sa.ColumnElement[bool],
) -> list[tuple[ActionStatus, str | None, int]]:
    """(status, timeliness, count) of the team's actions that were not cancelled."""
    query = (
        sa.select(Action.status, Action.due_on, Action.done_at)
        .join(Case, Case.id == Action.case_id)
        .where(team_case, Action.status != ActionStatus.CANCELLED)
    )
    if _dialect() != "postgresql":
        # SQLite knows no time zones: the local due day is worked out here, row by row.
        return [(a.status, _timeliness(a), 1) for a in db.session.execute(query)]
    # The same rule as _timeliness, in SQL: done before the local midnight that ends the due
    # day is on time. A large team has tens of thousands of actions; only counts travel.
    day_ends = sa.func.timezone(
        LOCAL_TIME.key, sa.cast(Action.due_on, sa.DateTime) + sa.text("interval '1 day'")
    )
    today = utcnow().astimezone(LOCAL_TIME).date()
    verdict = sa.case(
        (sa.and_(Action.status == ActionStatus.DONE, Action.done_at < day_ends), "on_time"),
        (sa.and_(Action.status == ActionStatus.DONE, Action.done_at.is_not(None)), "late"),
        (
            sa.and_(
                Action.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
                Action.due_on < today,
            ),
            "overdue",
        ),
    ).label("verdict")
    grouped = query.with_only_columns(Action.status, verdict, sa.func.count()).group_by(
        Action.status, verdict
    )
    return [(status, label, count) for status, label, count in db.session.execute(grouped)]


class _Timed(Protocol):
    status: ActionStatus
    due_on: date
    done_at: datetime | None


def _timeliness(action: _Timed) -> str | None:
    """Done by the end of its due day (local time), done late, or still open past it."""
    if action.status is ActionStatus.DONE and action.done_at is not None:
        done_on = action.done_at.astimezone(LOCAL_TIME).date()
        return "on_time" if done_on <= action.due_on else "late"
    if action.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS):
        today = utcnow().astimezone(LOCAL_TIME).date()
        return "overdue" if action.due_on < today else None
    return None


@dataclass(frozen=True)
class Durations:
    first_contact_median_hours: float | None
    first_contact_p90_hours: float | None
    placement_answer_median_days: float | None
    counted: int


def durations(organisation_id: uuid.UUID) -> Durations:
    first_contact = _OrderStatistics.of(
        sa.select(
            _seconds_between(ClientRequest.submitted_at, ClientRequest.first_contact_at)
        ).where(
            ClientRequest.organisation_id == organisation_id,
            ClientRequest.first_contact_at.is_not(None),
        )
    )
    answers = _OrderStatistics.of(
        sa.select(_seconds_between(PlacementRequest.created_at, PlacementRequest.answered_at))
        .join(Placement, Placement.id == PlacementRequest.placement_id)
        .where(
            Placement.organisation_id == organisation_id,
            PlacementRequest.answered_at.is_not(None),
        )
    )
    enough = first_contact.count >= SUPPRESS_BELOW
    return Durations(
        first_contact_median_hours=round(first_contact.median(3600), 1) if enough else None,
        first_contact_p90_hours=round(first_contact.p90(3600), 1) if enough else None,
        placement_answer_median_days=round(answers.median(86400), 1)
        if answers.count >= SUPPRESS_BELOW
        else None,
        counted=first_contact.count,
    )


@dataclass(frozen=True)
class _OrderStatistics:
    """The median and the 90th percentile of a column of numbers, picked by the database.

    A team's history holds tens of thousands of durations; the database sorts them and
    sends back the count and the two or three values at the positions
    `statistics.median` and `sorted(values)[int(0.9 * (n - 1))]` would pick.
    """

    count: int
    at: dict[int, float]

    @classmethod
    def of(cls, values: sa.Select[Any]) -> _OrderStatistics:
        value = values.subquery().c[0]
        ranked = sa.select(
            value.label("value"),
            (sa.func.row_number().over(order_by=value) - 1).label("k"),
            sa.func.count().over().label("n"),
        ).subquery()
        k, n = ranked.c.k, ranked.c.n
        rows = db.session.execute(
            sa.select(k, n, ranked.c.value).where(
                # 9 * (n - 1) // 10 is int(0.9 * (n - 1)) without a float in between.
                sa.or_(k == (n - 1) // 2, k == n // 2, k == 9 * (n - 1) // 10)
            )
        ).all()
        return cls(rows[0].n if rows else 0, {row.k: row.value for row in rows})

    def median(self, unit: float) -> float:
        n = self.count
        return (self.at[(n - 1) // 2] / unit + self.at[n // 2] / unit) / 2

    def p90(self, unit: float) -> float:
        return self.at[9 * (self.count - 1) // 10] / unit


def _safe_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ (or a tab or return) as formulas."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def as_csv(tables: list[Table]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["table", "category", "count"])
    for table in tables:
        for label, count in table.shown():
            writer.writerow([_safe_cell(table.key), _safe_cell(label), _safe_cell(count)])
    return out.getvalue()


def chart_png(table: Table, title: str, label: Callable[[str], str]) -> bytes:
    """A bar chart drawn on the server; hidden cells are drawn as zero-height bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [label(code) for code, _count in table.rows]
    shown = table.shown()
    values = [
        count if text == str(count) else 0
        for (_label, count), (_same, text) in zip(table.rows, shown, strict=True)
    ]
    figure, axes = pyplot.subplots(figsize=(6, 2.8), dpi=100)
    axes.bar(labels, values, color="#1d4f91")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()
