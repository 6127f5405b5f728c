"""The domain's rules as data (rules.toml, clocks.toml), and the deadlines they start."""

from __future__ import annotations

import calendar
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import holidays

from app.core.clock import LOCAL_TIME as LOCAL_TIME  # re-exported: the rules speak local time
from app.settings.services import period_override

RULES_FILE = Path(__file__).with_name("rules.toml")
CLOCKS_FILE = Path(__file__).with_name("clocks.toml")

Unit = Literal["same_day", "days", "working_days", "months", "years"]


@dataclass(frozen=True)
class Rule:
    key: str
    value: int
    unit: Unit
    title: str
    citation: str
    # A period that ends on a day off ends on the next working day instead (lag (1930:173)
    # om beräkning av lagstadgad tid); a same-day duty never moves.
    next_working_day: bool = False

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
        if self.next_working_day:
            while not is_working_day(day):
                day += timedelta(days=1)
        return datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TIME)

    def runs_out_before(self, limit: datetime) -> datetime:
        """The instant dividing the clocks that run out before `limit` (started before it)
        from those that do not (started at or after it).

        due() depends only on the local day a clock starts and never moves back as that day
        moves on, so one instant divides them: a database can count what due() would find
        by comparing a start column with it, without loading a row.
        """
        # A due() is always the end of a day, so only the first day ending at or after
        # `limit` matters: a clock runs out before `limit` when its day is earlier.
        return _first_start_due_on_or_after(self, first_day_ending_at_or_after(limit))


@lru_cache(maxsize=256)
def _first_start_due_on_or_after(rule: Rule, day: date) -> datetime:
    """The first local midnight from which a clock of `rule` is due on `day` or later."""
    start = day
    while rule.due(local_midnight(start)).date() < day:
        start += timedelta(days=1)
    while rule.due(local_midnight(start - timedelta(days=1))).date() >= day:
        start -= timedelta(days=1)
    return local_midnight(start)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TIME)


def first_day_ending_at_or_after(limit: datetime) -> date:
    """The first local day whose end (23:59:59, as every day-long clock ends) is not before
    `limit`: a clock due at the end of an earlier day has run out by then."""
    day = limit.astimezone(LOCAL_TIME).date()
    if datetime.combine(day, time(23, 59, 59), tzinfo=LOCAL_TIME) < limit:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class ClockStart:
    """Which clocks a concern about a person starts, by their age band and the source."""

    clocks: tuple[str, ...]
    age_bands: frozenset[str]
    sources: frozenset[str]
    note: str = ""


@cache
def all_rules() -> dict[str, Rule]:
    with RULES_FILE.open("rb") as handle:
        raw = tomllib.load(handle)
    return {key: Rule(key=key, **values) for key, values in raw.items()}


@cache
def clock_starts() -> tuple[ClockStart, ...]:
    with CLOCKS_FILE.open("rb") as handle:
        raw = tomllib.load(handle)
    starts = tuple(
        ClockStart(
            clocks=tuple(entry["clocks"]),
            age_bands=frozenset(entry["age_bands"]),
            sources=frozenset(entry["sources"]),
            note=entry.get("note", ""),
        )
        for entry in raw["start"]
    )
    unknown = {key for start in starts for key in start.clocks} - set(all_rules())
    if unknown:
        raise ValueError(f"clocks.toml names rules that rules.toml lacks: {sorted(unknown)}")
    return starts


def clocks_for(source: str, age_band: str | None) -> tuple[str, ...]:
    """The statutory clocks a concern from `source` about a person in `age_band` starts."""
    if age_band is None:
        return ()
    keys: list[str] = []
    for start in clock_starts():
        if source in start.sources and age_band in start.age_bands:
            keys.extend(key for key in start.clocks if key not in keys)
    return tuple(keys)


def rule(key: str) -> Rule:
    """The rule in force: rules.toml, with the administrator's value where one is saved."""
    base = all_rules()[key]
    value = period_override(key)
    return base if value is None else replace(base, value=value)


@cache
def _days_off(year: int) -> holidays.HolidayBase:
    # Public holidays, and the eves (midsommarafton, julafton, nyårsafton) that the law on
    # computing statutory time treats the same; both kept up to date by the library.
    return holidays.country_holidays(
        "SE", years=year, categories=(holidays.PUBLIC, holidays.DE_FACTO)
    )


def is_working_day(day: date) -> bool:
    """A weekday that is neither a Swedish public holiday nor one of the eves treated so."""
    return day.weekday() < 5 and day not in _days_off(day.year)


def _add_working_days(day: date, count: int) -> date:
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
