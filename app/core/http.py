"""Small HTTP conventions shared by every feature's views."""

from flask import request


def form_status() -> int:
    """A form shown again after a POST is a refusal of bad input: 400, not 200."""
    return 400 if request.method == "POST" else 200


# Far beyond any list the portal shows (50 rows a page), and small enough that the offset
# it makes fits every database's integer: ?page=99999999999999999999 overflowed SQLite's.
MAX_PAGE = 10_000


def page_number() -> int:
    """The `?page=` asked for, clamped to 1..MAX_PAGE; anything that is not a number is 1."""
    raw = request.args.get("page", "")
    if not raw.isascii() or not raw.isdigit():
        return 1
    # Compared as text first: int() of a thousand digits is work for nothing.
    return max(1, min(int(raw) if len(raw) <= 6 else MAX_PAGE, MAX_PAGE))
