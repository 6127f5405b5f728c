"""Swedish personal identity numbers (personnummer and samordningsnummer)."""

from __future__ import annotations

import re
from datetime import date

PATTERN = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{4})$")


class InvalidPersonalNumber(ValueError):
    pass


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def normalise_personal_number(raw: str, today: date | None = None) -> str:
    """Return YYYYMMDD-NNNN, or raise if the number is malformed or its check digit wrong.

    Ten-digit forms get their century from the separator: '+' means 100 years or older.
    Coordination numbers (day + 60) are accepted.
    """
    text = re.sub(r"\s", "", raw)
    match = PATTERN.match(text)
    if not match:
        raise InvalidPersonalNumber(raw)
    century, year, month, day, separator, last4 = match.groups()
    if not _luhn_ok(f"{year}{month}{day}{last4}"):
        raise InvalidPersonalNumber(raw)
    today = today or date.today()
    if century is None:
        full_year = 2000 + int(year)
        if full_year > today.year:
            full_year -= 100
        if separator == "+":
            full_year -= 100
    else:
        full_year = int(century + year)
    real_day = int(day) - 60 if int(day) > 60 else int(day)
    try:
        date(full_year, int(month), real_day)
    except ValueError as error:
        raise InvalidPersonalNumber(raw) from error
    return f"{full_year:04d}{month}{day}-{last4}"
