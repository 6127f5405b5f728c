"""Figures for evaluation: counts only, small cells suppressed, nothing personal."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from app.cases.models import Case, Intervention
from app.consent.models import Consent
from app.consultations.models import Action, ActionStatus, Consultation, ConsultationStatus
from app.extensions import db
from app.intake.models import ClientRequest
from app.placements.models import Placement, PlacementRequest, RequestStatus

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


def team_tables(organisation_id: uuid.UUID) -> list[Table]:
    requests = db.session.scalars(
        sa.select(ClientRequest).where(ClientRequest.organisation_id == organisation_id)
    ).all()
    cases = db.session.scalars(sa.select(Case).where(Case.organisation_id == organisation_id)).all()
    case_ids = [c.id for c in cases]
    consents = db.session.scalars(sa.select(Consent).where(Consent.case_id.in_(case_ids))).all()
    consultations = db.session.scalars(
        sa.select(Consultation).where(Consultation.organisation_id == organisation_id)
    ).all()
    actions = db.session.scalars(sa.select(Action).where(Action.case_id.in_(case_ids))).all()
    interventions = db.session.scalars(
        sa.select(Intervention).where(Intervention.case_id.in_(case_ids))
    ).all()
    placement_requests = db.session.scalars(
        sa.select(PlacementRequest)
        .join(Placement, Placement.id == PlacementRequest.placement_id)
        .where(Placement.organisation_id == organisation_id)
    ).all()
    return [
        _table("requests_by_kind", Counter(r.kind.value for r in requests)),
        _table("requests_by_month", Counter(r.submitted_at.strftime("%Y-%m") for r in requests)),
        _table("requests_by_language", Counter(r.language for r in requests)),
        _table("cases_by_source", Counter(c.source.value for c in cases)),
        _table(
            "consent_answers",
            Counter("given" if c.given else "refused" for c in consents if c.given is not None),
        ),
        _table(
            "consultations",
            Counter(
                c.status.value for c in consultations if c.status is not ConsultationStatus.PLANNED
            ),
        ),
        _table(
            "actions",
            Counter(a.status.value for a in actions if a.status is not ActionStatus.CANCELLED),
        ),
        _table("interventions_by_type", Counter(i.kind for i in interventions)),
        _table(
            "placement_answers",
            Counter(
                r.status.value for r in placement_requests if r.status is not RequestStatus.SENT
            ),
        ),
        _table("outcomes", Counter(c.outcome.value for c in cases if c.outcome is not None)),
    ]


@dataclass(frozen=True)
class Durations:
    first_contact_median_hours: float | None
    first_contact_p90_hours: float | None
    placement_answer_median_days: float | None
    counted: int


def durations(organisation_id: uuid.UUID) -> Durations:
    requests = db.session.scalars(
        sa.select(ClientRequest).where(
            ClientRequest.organisation_id == organisation_id,
            ClientRequest.first_contact_at.is_not(None),
        )
    ).all()
    hours = sorted(
        (r.first_contact_at - r.submitted_at).total_seconds() / 3600
        for r in requests
        if r.first_contact_at
    )
    answers = db.session.scalars(
        sa.select(PlacementRequest)
        .join(Placement, Placement.id == PlacementRequest.placement_id)
        .where(
            Placement.organisation_id == organisation_id, PlacementRequest.answered_at.is_not(None)
        )
    ).all()
    days = [
        (r.answered_at - r.created_at).total_seconds() / 86400 for r in answers if r.answered_at
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


def chart_png(table: Table, title: str) -> bytes:
    """A bar chart drawn on the server; suppressed cells are drawn as zero-height bars."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    labels = [label for label, _count in table.rows]
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
