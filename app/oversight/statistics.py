"""Figures for evaluation: counts only, small cells suppressed, nothing personal."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Table:
    key: str
    rows: list[tuple[str, int]]

    def shown(self) -> list[tuple[str, str]]:
        return [(label, suppress(count)) for label, count in self.rows]


def suppress(count: int) -> str:
    return f"<{SUPPRESS_BELOW}" if 0 < count < SUPPRESS_BELOW else str(count)


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


def team_tables(organisation_id: uuid.UUID) -> list[Table]:
    # Aggregates in SQL: a team's history runs to tens of thousands of rows, and loading
    # them as objects would also decrypt every encrypted column for nothing.
    team_case = Case.organisation_id == organisation_id
    requests = Counter[tuple[str, str, str]]()
    for kind, month, language, count in _counts(
        sa.select(
            ClientRequest.kind,
            _month(ClientRequest.submitted_at),
            ClientRequest.language,
            sa.func.count(),
        )
        .where(ClientRequest.organisation_id == organisation_id)
        .group_by(ClientRequest.kind, _month(ClientRequest.submitted_at), ClientRequest.language)
    ):
        requests[kind.value, month, language] += count
    cases = _counts(
        sa.select(Case.source, Case.outcome, sa.func.count())
        .where(team_case)
        .group_by(Case.source, Case.outcome)
    )
    consents = _counts(
        sa.select(Consent.given, sa.func.count())
        .join(Case, Case.id == Consent.case_id)
        .where(team_case, Consent.given.is_not(None))
        .group_by(Consent.given)
    )
    consultations = _counts(
        sa.select(Consultation.status, sa.func.count())
        .where(
            Consultation.organisation_id == organisation_id,
            Consultation.status != ConsultationStatus.PLANNED,
        )
        .group_by(Consultation.status)
    )
    # Timeliness needs each action's local due day, which SQLite cannot compute: three plain
    # columns per action are fetched, never the encrypted ones.
    actions = db.session.execute(
        sa.select(Action.status, Action.due_on, Action.done_at)
        .join(Case, Case.id == Action.case_id)
        .where(team_case, Action.status != ActionStatus.CANCELLED)
    ).all()
    interventions = _counts(
        sa.select(Intervention.kind, sa.func.count())
        .join(Case, Case.id == Intervention.case_id)
        .where(team_case)
        .group_by(Intervention.kind)
    )
    placement_answers = _counts(
        sa.select(PlacementRequest.status, sa.func.count())
        .join(Placement, Placement.id == PlacementRequest.placement_id)
        .where(
            Placement.organisation_id == organisation_id,
            PlacementRequest.status != RequestStatus.SENT,
        )
        .group_by(PlacementRequest.status)
    )

    def tally(rows: Iterable[tuple[Any, int]]) -> Counter[str]:
        counter = Counter[str]()
        for label, count in rows:
            counter[label] += count
        return counter

    return [
        _table("requests_by_kind", tally((k[0], n) for k, n in requests.items())),
        _table("requests_by_month", tally((k[1], n) for k, n in requests.items())),
        _table("requests_by_language", tally((k[2], n) for k, n in requests.items())),
        _table("cases_by_source", tally((source.value, n) for source, _o, n in cases)),
        _table(
            "consent_answers", tally(("given" if given else "refused", n) for given, n in consents)
        ),
        _table("consultations", tally((status.value, n) for status, n in consultations)),
        _table("actions", tally((a.status.value, 1) for a in actions)),
        _table("actions_on_time", Counter(t for a in actions if (t := _timeliness(a)))),
        _table("interventions_by_type", tally((kind, n) for kind, n in interventions)),
        _table("placement_answers", tally((s.value, n) for s, n in placement_answers)),
        _table(
            "outcomes",
            tally((outcome.value, n) for _s, outcome, n in cases if outcome is not None),
        ),
    ]


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
    # Only the differences travel, as plain numbers: no rows, nothing to decrypt.
    first_contact = _seconds_between(ClientRequest.submitted_at, ClientRequest.first_contact_at)
    hours = sorted(
        seconds / 3600
        for seconds in db.session.scalars(
            sa.select(first_contact).where(
                ClientRequest.organisation_id == organisation_id,
                ClientRequest.first_contact_at.is_not(None),
            )
        )
    )
    answer = _seconds_between(PlacementRequest.created_at, PlacementRequest.answered_at)
    days = [
        seconds / 86400
        for seconds in db.session.scalars(
            sa.select(answer)
            .join(Placement, Placement.id == PlacementRequest.placement_id)
            .where(
                Placement.organisation_id == organisation_id,
                PlacementRequest.answered_at.is_not(None),
            )
        )
    ]
    enough = len(hours) >= SUPPRESS_BELOW
    return Durations(
        first_contact_median_hours=round(statistics.median(hours), 1) if enough else None,
        first_contact_p90_hours=round(hours[int(0.9 * (len(hours) - 1))], 1) if enough else None,
        placement_answer_median_days=round(statistics.median(days), 1)
        if len(days) >= SUPPRESS_BELOW
        else None,
        counted=len(hours),
    )


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
    """A bar chart drawn on the server; suppressed cells are drawn as zero-height bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [label(code) for code, _count in table.rows]
    values = [count if count >= SUPPRESS_BELOW or count == 0 else 0 for _label, count in table.rows]
    figure, axes = pyplot.subplots(figsize=(6, 2.8), dpi=100)
    axes.bar(labels, values, color="#1d4f91")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()
