"""Redirect targets taken from the request must stay on this site."""

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """A local path to go to after login, or None for anything that could leave the site.

    Refuses absolute URLs, scheme-relative `//host`, backslash tricks that browsers read
    as `//host`, and control characters.
    """
    if not target or len(target) > 500:
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
