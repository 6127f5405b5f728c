"""Time-based one-time codes (RFC 6238) with replay protection."""

from __future__ import annotations

import hmac
import re
from datetime import datetime

import pyotp
import segno

from app.core.clock import utcnow
from app.core.digits import normalise_number

STEP_SECONDS = 30
# One step either side forgives a phone clock that is up to 30 seconds off.
TOLERANCE_STEPS = 1
# ASCII digits only: `\d` would take any script's digits, and compare_digest raises on
# non-ASCII text (a 500 for everyone typing on a Persian or Arabic keyboard).
CODE_PATTERN = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app adds the account from.

    The issuer is the installation's neutral name, never the portal's own: the app lists
    the entry under it, on a phone that may be searched.
    """
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str, title: str) -> str:
    """The enrolment QR code as inline SVG, so no image is fetched from anywhere."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(
        scale=4, border=2, title=title, svgclass="qr", dark="#000", light="#fff"
    )
    return svg


def grouped(secret: str) -> str:
    """The key in groups of four, for typing by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code: str | None) -> str:
    """The code as typed, in any script's digits, with spaces and dashes: six ASCII digits."""
    return normalise_number(code)


def current_step(moment: datetime | None = None) -> int:
    return int((moment or utcnow()).timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step the code belongs to, or None if it is wrong or already used.

    Codes from a step at or before the last accepted one are refused, so a code seen over
    someone's shoulder (or in a proxy log) cannot be used a second time.
    """
    code = normalise_code(code)
    if not CODE_PATTERN.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now = current_step()
    for step in range(now - TOLERANCE_STEPS, now + TOLERANCE_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
