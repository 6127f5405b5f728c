"""The domain's rules as data (rules.toml), and the deadlines they start."""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from app.core.clock import LOCAL_TIME as LOCAL_TIME  # re-exported: the rules speak local time
from app.settings.services import period_override

RULES_FILE = Path(__file__).with_name("rules.toml")

Unit = Literal["same_day", "days", "working_days", "months", "years"]


@dataclass(frozen=True)
class Rule:
    key: str
    value: int
    unit: Unit
    title: str
    citation: str

    def due(self, start: datetime) -> datetime:
        """When a clock started at `start` runs out (end of that local day for day units)."""
        local = start.astimezone(LOCAL_TIME)
        if self.unit == "same_day":
            day = local.date()
        elif self.unit == "days":
            day = local.date() + timedelta(days=self.value)
        elif self.unit == "working_days":
            day = _add_working_days(local.date(), self.value)
        elif self.unit == "months":
            day = _add_months(local.date(), self.value)
        else:
            raise ValueError(f"rule {self.key} is a limit in {self.unit}, not a deadline")
        return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TIME)


@cache
def all_rules() -> dict[str, Rule]:
    with RULES_FILE.open("rb") as handle:
        raw = tomllib.load(handle)
    return {key: Rule(key=key, **values) for key, values in raw.items()}


def rule(key: str) -> Rule:
    """The rule in force: rules.toml, with the administrator's value where one is saved."""
    base = all_rules()[key]
    value = period_override(key)
    return base if value is None else replace(base, value=value)


def _add_working_days(day: date, count: int) -> date:
    # Weekends only: public holidays are left to the team's judgement for now.
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
