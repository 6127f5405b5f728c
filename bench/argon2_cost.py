"""Print how long one password verification takes with the portal's argon2id parameters.

Usage: .venv/bin/python bench/argon2_cost.py
The target is roughly 50-300 ms on the reference 2-core machine; the fast test profile is
printed beside it as the baseline measured in the same run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.auth.passwords import ARGON2_PARAMETERS, FAST_TEST_PARAMETERS

ROUNDS = 15
TARGET_MS = (50.0, 300.0)


def verify_ms(parameters: dict[str, object]) -> list[float]:
    hasher = PasswordHasher(**parameters)  # type: ignore[arg-type]
    stored = hasher.hash("lugna-tallar-vid-havet")
    timings = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        hasher.verify(stored, "lugna-tallar-vid-havet")
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def measure() -> tuple[list[float], list[float]]:
    """Verification times (ms) with the production parameters and with the test profile."""
    return verify_ms(ARGON2_PARAMETERS), verify_ms(FAST_TEST_PARAMETERS)


def within_target(median_ms: float) -> bool:
    return TARGET_MS[0] <= median_ms <= TARGET_MS[1]


def main() -> None:
    production, baseline = measure()
    p = ARGON2_PARAMETERS
    print(f"argon2id t={p['time_cost']} m={p['memory_cost']} KiB p={p['parallelism']}")
    print(f"  verify median {statistics.median(production):.1f} ms, max {max(production):.1f} ms")
    print(
        f"  test profile median {statistics.median(baseline):.2f} ms "
        f"(production is {statistics.median(production) / statistics.median(baseline):.0f}x)"
    )
    ok = within_target(statistics.median(production))
    print("  within the 50-300 ms target" if ok else "  OUTSIDE the 50-300 ms target")


if __name__ == "__main__":
    main()
