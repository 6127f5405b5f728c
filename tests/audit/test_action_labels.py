"""Every event the portal records has words in the access log, not only a code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from app.audit.labels import ACTION_LABELS

APP = Path(__file__).resolve().parents[2] / "app"
ACTION = re.compile(r"[a-z_]+(\.[a-z_]+)+")
RECORDERS = {"record", "_audit", "_audit_request", "audit", "_record"}


def recorded_actions() -> set[str]:
    """The string constants in the first argument of every call that records an event."""
    found = set()
    for path in APP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in RECORDERS:
                continue
            for part in ast.walk(node.args[0]):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    found.add(part.value)
    return {value for value in found if ACTION.fullmatch(value)}


def test_every_recorded_action_has_a_label():
    actions = recorded_actions()
    assert len(actions) > 60  # the scan finds the calls it is meant to find
    assert sorted(actions - ACTION_LABELS.keys()) == []

