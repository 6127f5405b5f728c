"""Mutation testing of the security core: break the code on purpose, one change at a time,
and see whether the tests that own it notice.

    nice python bench/mutation.py                 # every module (about 20 minutes)
    nice python bench/mutation.py --only totp     # modules whose path contains "totp"
    python bench/mutation.py --list               # the mutants, without running anything

Each mutant is one small change made with the `ast` module (a comparison flipped, `and`
swapped for `or`, a `not` dropped, a condition negated, a constant changed, a call such as
an audit record or an abort removed, a raise removed, a predicate that always says yes, a
function that returns at once). The application and the owning tests are imported once;
for each mutant a forked process loads the mutated module's code in memory and runs the
owning tests on SQLite with `-x`. The file on disk is never changed, so nothing needs
restoring after Ctrl-C or a crash, and a forked run past its timeout is killed. A mutant is
killed when the tests fail (or hang past the timeout).

Run by hand, not in CI: the figure and the survivors explained as equivalent are in the
README. Survivors are printed as file:line with the original and the mutated code.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import importlib
import os
import re
import signal
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Target:
    """A module of the security core, the tests that own it, and what may be mutated."""

    path: str
    tests: tuple[str, ...]
    # A pytest -k expression choosing the owning tests inside those files.
    select: str | None = None
    # Only these functions are mutated (the rest of the module belongs to other features).
    functions: frozenset[str] = frozenset()
    # Strings and literal lists are the substance of some modules (the headers, the hashed
    # fields) and noise in others (event names, detail keys), so they are opt-in.
    literals: bool = False


# The access matrix owns every permission: each predicate decides some of its cells. It
# comes last, after any quicker file, and stops at its first wrong cell (MUTATION_FAIL_FAST).
MATRIX = "tests/security/test_access_matrix.py::test_the_access_matrix"
# Quickest owners first, so a run cut short has finished the most modules.
TARGETS = [
    Target("app/core/headers.py", ("tests/core/test_headers.py",), literals=True),
    Target("app/auth/totp.py", ("tests/auth/test_unicode_digits.py", "tests/auth/test_login.py")),
    Target("app/auth/sessions.py", ("tests/auth/test_sessions.py", "tests/core/test_refusals.py")),
    Target(
        "app/consent/services.py",
        ("tests/cases/test_case_work.py",),
        select="cover or refusal or withdrawal or disclosure",
        functions=frozenset({"consent_covers", "deciding_consent", "_in_force"}),
    ),
    Target(
        "app/placements/services.py",
        ("tests/placements/test_placements.py", "tests/placements/test_municipality_codes.py"),
        functions=frozenset({"conflict_reasons", "areas_to_avoid", "_groups", "send_requests"}),
    ),
    Target(
        "app/audit/services.py",
        (
            "tests/audit/test_chain.py",
            "tests/core/test_refusals.py",
            "tests/oversight/test_security_tallies.py",
        ),
        # Writing, hashing and verifying the chain; retention's deletion has its own tests.
        functions=frozenset(
            {"record", "_append", "_canonical_details", "event_hash", "_mac"}
            | {"_signed_record", "checkpoint_signature", "verification_signature", "verify_chain"}
            | {"_walk_whole"}
            | {"_start_of_chain", "_head", "_walk", "_events_in_order", "verify_recent"}
        ),
        literals=True,
    ),
    Target("app/auth/guard.py", ("tests/core/test_guard.py", MATRIX)),
    Target(
        "app/core/access.py",
        ("tests/cases/test_case_work.py", MATRIX),
        select="out_of_reach or access_matrix",
    ),
    Target("app/auth/permissions.py", ("tests/admin/test_users.py", MATRIX)),
    Target("app/intake/permissions.py", (MATRIX,)),
    Target("app/messages/permissions.py", ("tests/messages/test_messages.py", MATRIX)),
    Target("app/placements/permissions.py", ("tests/placements/test_frozen_handover.py", MATRIX)),
    Target(
        "app/consent/permissions.py",
        ("tests/cases/test_case_work.py", MATRIX),
        select="consent or access_matrix",
    ),
    Target(
        "app/consultations/permissions.py",
        (
            "tests/consultations/test_consultations.py",
            "tests/consultations/test_frozen_disclosures.py",
            MATRIX,
        ),
        select="representative or consent_ends or access_matrix",
    ),
    Target(
        "app/cases/permissions.py",
        (
            "tests/cases/test_case_work.py",
            "tests/cases/test_protection_lowering.py",
            "tests/security/test_access_matrix.py",
        ),
        select=(
            "grants_end or access_matrix or need_to_know or hidden_from_the_team_lead"
            " or second_member or refused"
        ),
    ),
]


# Mutation operators -----------------------------------------------------------------------

FLIPPED_COMPARISON: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.Gt: ast.LtE,
    ast.LtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass
class Mutant:
    path: str
    line: int
    operator: str
    before: str
    after: str
    source: str = field(repr=False)


def _is_docstring(parent: ast.AST | None, node: ast.AST) -> bool:
    return isinstance(parent, ast.Expr) and isinstance(node, ast.Constant)


def _changes(
    node: ast.AST, parent: ast.AST | None, target: Target, module_level: bool
) -> Iterator[tuple[str, ast.AST]]:
    """Each way to break this node, as (operator, replacement)."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        flipped = FLIPPED_COMPARISON.get(type(node.ops[0]))
        if flipped:
            yield "comparison flipped", ast.Compare(node.left, [flipped()], node.comparators)
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "and/or swapped", ast.BoolOp(other, node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not removed", node.operand
    elif isinstance(node, ast.If | ast.While | ast.IfExp) and not isinstance(
        node.test, ast.Compare | ast.BoolOp | ast.UnaryOp
    ):
        changed = copy.copy(node)
        changed.test = ast.UnaryOp(ast.Not(), node.test)
        yield "condition negated", changed
    elif isinstance(node, ast.Constant) and not _is_docstring(parent, node):
        if isinstance(node.value, bool):
            yield "constant changed", ast.Constant(not node.value)
        elif isinstance(node.value, int) and isinstance(parent, ast.Assign) and module_level:
            # Named limits (a timeout, a tolerance); other numbers are indexes and counters.
            yield "constant changed", ast.Constant(node.value + 1)
        elif (
            isinstance(node.value, str)
            and target.literals
            and node.value
            # A value in a mapping or an assignment (a header's value); keys and list items
            # are covered by removing the entry or the item.
            and (
                isinstance(parent, ast.Assign)
                or (isinstance(parent, ast.Dict) and node in parent.values)
            )
        ):
            yield "constant changed", ast.Constant(node.value + "x")
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        yield "call removed", ast.Pass()
    elif isinstance(node, ast.Raise):
        yield "raise removed", ast.Pass()
    elif (
        isinstance(node, ast.Return)
        and node.value is not None
        and isinstance(parent, ast.FunctionDef)
        and _returns_bool(parent)
        and not (isinstance(node.value, ast.Constant) and node.value.value is True)
    ):
        yield "predicate says yes", ast.Return(ast.Constant(True))
    elif (
        isinstance(node, ast.List | ast.Tuple)
        and isinstance(node.ctx, ast.Load)
        and not isinstance(parent, ast.keyword)  # separators=(",", ":") and the like
        and target.literals
        and len(node.elts) > 1
    ):
        for index in range(len(node.elts)):
            elts = node.elts[:index] + node.elts[index + 1 :]
            yield "element removed", type(node)(elts, node.ctx)
    elif isinstance(node, ast.Dict) and target.literals and len(node.keys) > 1:
        for index in range(len(node.keys)):
            yield (
                "entry removed",
                ast.Dict(
                    node.keys[:index] + node.keys[index + 1 :],
                    node.values[:index] + node.values[index + 1 :],
                ),
            )


def _returns_bool(function: ast.FunctionDef) -> bool:
    return isinstance(function.returns, ast.Name) and function.returns.id == "bool"


def _returns_none(function: ast.FunctionDef) -> bool:
    return isinstance(function.returns, ast.Constant) and function.returns.value is None


class _Parents(ast.NodeVisitor):
    """Records, for each node, its parent and the function it sits in."""

    def __init__(self) -> None:
        self.parent: dict[int, ast.AST] = {}
        self.function: dict[int, ast.FunctionDef | None] = {}
        self._current: list[ast.FunctionDef] = []

    def generic_visit(self, node: ast.AST) -> None:
        is_function = isinstance(node, ast.FunctionDef)
        if is_function:
            self._current.append(node)  # type: ignore[arg-type]
        for child in ast.iter_child_nodes(node):
            self.parent[id(child)] = node
            self.function[id(child)] = self._current[-1] if self._current else None
            self.visit(child)
        if is_function:
            self._current.pop()


def _return_parent(parents: _Parents, node: ast.AST) -> ast.AST | None:
    # A return's "parent" for the predicate operator is the function that holds it.
    if isinstance(node, ast.Return):
        return parents.function.get(id(node))
    return parents.parent.get(id(node))


def mutants_of(target: Target) -> list[Mutant]:
    source = (ROOT / target.path).read_text()
    tree = ast.parse(source)
    parents = _Parents()
    parents.visit(tree)
    # Decorators, annotations and module-level type aliases are not behaviour worth testing.
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            arguments += [a for a in (node.args.vararg, node.args.kwarg) if a is not None]
            for part in [*node.decorator_list, node.returns, *(a.annotation for a in arguments)]:
                if part is not None:
                    skipped.update(id(n) for n in ast.walk(part))
        if isinstance(node, ast.AnnAssign):
            skipped.update(id(n) for n in ast.walk(node.annotation))
        if isinstance(node, ast.ImportFrom | ast.Import):
            skipped.update(id(n) for n in ast.walk(node))
    found: list[Mutant] = []
    nodes = list(ast.walk(tree))
    for index, node in enumerate(nodes):
        if id(node) in skipped or not hasattr(node, "lineno"):
            continue
        function = parents.function.get(id(node))
        if target.functions and (function is None or function.name not in target.functions):
            continue
        module_level = function is None
        changes = _changes(node, _return_parent(parents, node), target, module_level)
        for operator, replacement in changes:
            mutated = _replace(tree, index, replacement)
            found.append(
                Mutant(
                    target.path,
                    node.lineno,
                    operator,
                    ast.unparse(node).splitlines()[0][:100],
                    "pass"
                    if isinstance(replacement, ast.Pass)
                    else ast.unparse(replacement).splitlines()[0][:100],
                    ast.unparse(ast.fix_missing_locations(mutated)),
                )
            )
    # Functions that check and complain by raising: returning at once skips the check.
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef)
            and _returns_none(node)
            and (not target.functions or node.name in target.functions)
            and any(isinstance(n, ast.Raise) for n in ast.walk(node))
        ):
            mutated = copy.deepcopy(tree)
            for twin in ast.walk(mutated):
                if isinstance(twin, ast.FunctionDef) and twin.lineno == node.lineno:
                    twin.body.insert(0, ast.Return(None))
            found.append(
                Mutant(
                    target.path,
                    node.lineno,
                    "returns at once",
                    f"def {node.name}(...)",
                    f"def {node.name}(...): return",
                    ast.unparse(ast.fix_missing_locations(mutated)),
                )
            )
    return found


def _replace(tree: ast.Module, index: int, replacement: ast.AST) -> ast.Module:
    """A copy of the tree with its index-th node (in ast.walk order) replaced."""
    mutated = copy.deepcopy(tree)
    victim = list(ast.walk(mutated))[index]
    for parent in ast.walk(mutated):
        for name, value in ast.iter_fields(parent):
            if value is victim:
                setattr(parent, name, replacement)
                return mutated
            if isinstance(value, list):
                for position, item in enumerate(value):
                    if item is victim:
                        value[position] = replacement
                        return mutated
    raise LookupError("node not found")


# Running ----------------------------------------------------------------------------------


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def prepare(targets: list[Target]) -> None:
    """Import the application and the owning tests once; every mutant's run forks from here.

    The machine is shared and slow: starting Python and importing the application took
    most of each run when every mutant started a fresh pytest.
    """
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    for name in ("TEST_DATABASE_URL", "CI"):
        os.environ.pop(name, None)  # SQLite only, and the local Hypothesis profile
    # The access matrix stops at its first wrong answer instead of listing them all.
    os.environ["MUTATION_FAIL_FAST"] = "1"
    importlib.import_module("app")
    importlib.import_module("tests.conftest")
    for target in targets:
        importlib.import_module(module_name(target.path))
        for test in target.tests:
            path = test.split("::")[0]
            if (ROOT / path).exists():
                for conftest in Path(path).parent.glob("conftest.py"):
                    importlib.import_module(module_name(str(conftest)))
                importlib.import_module(module_name(path))


def apply_mutant(path: str, source: str) -> None:
    """Run the mutated module's code in the loaded module, in this (forked) process only.

    Functions keep their identity and take the mutated code, so every `from … import`
    elsewhere sees the mutant; classes keep their identity so `except`/`isinstance` in other
    modules still match; constants take the mutated values. The file is never changed.
    """
    module = sys.modules[module_name(path)]
    before = dict(vars(module))
    exec(compile(source, str(ROOT / path), "exec"), vars(module))
    for name, old in before.items():
        new = vars(module).get(name)
        if isinstance(old, type):
            setattr(module, name, old)
        elif isinstance(old, types.FunctionType) and isinstance(new, types.FunctionType):
            try:
                old.__code__ = new.__code__
            except ValueError:
                continue  # a different closure: the new function object stands
            old.__defaults__ = new.__defaults__
            old.__kwdefaults__ = new.__kwdefaults__
            setattr(module, name, old)


def run_tests(target: Target, timeout: float, source: str | None = None) -> tuple[str, float]:
    """'passed', 'failed' or 'timeout' for the owning tests, with the mutant if given."""
    # A test file named here but not written yet (say, in an older checkout) is left out.
    present = [t for t in target.tests if (ROOT / t.split("::")[0]).exists()]
    arguments = ["-x", "-q", "-p", "no:cacheprovider", *present]
    if target.select:
        arguments += ["-k", target.select]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: mutate, test, and leave without running any cleanup twice
        code = 3
        try:
            os.setpgid(0, 0)
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            if source is not None:
                apply_mutant(target.path, source)
            code = int(pytest.main(arguments))
        finally:
            os._exit(code)
    try:
        while time.monotonic() - started < timeout:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                return ("passed" if code == 0 else "failed"), time.monotonic() - started
            time.sleep(0.2)
    except BaseException:
        stop(pid)  # Ctrl-C: no test run is left behind
        raise
    stop(pid)
    return "timeout", time.monotonic() - started


def stop(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


SUMMARY = re.compile(r"^(\S+): (\d+) mutants, ")
SURVIVOR = re.compile(r"^  SURVIVED (\S+):(\d+)  \[(.+?)\]  (.*)  ->  (.*)$")


def previous_survivors(output: Path) -> tuple[dict[str, int], set[tuple[str, ...]]]:
    """From an earlier run's output: each module's mutant count, and its survivors."""
    counts: dict[str, int] = {}
    survivors: set[tuple[str, ...]] = set()
    for line in output.read_text().splitlines():
        if match := SUMMARY.match(line):
            counts[match.group(1)] = int(match.group(2))
        elif match := SURVIVOR.match(line):
            survivors.add(match.groups())
    return counts, survivors


def key_of(mutant: Mutant) -> tuple[str, ...]:
    return (mutant.path, str(mutant.line), mutant.operator, mutant.before, mutant.after)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="mutate only modules whose path contains this")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument(
        "--again",
        type=Path,
        help="an earlier run's output: run only its survivors (tests were added since, and "
        "a killed mutant stays killed when tests only grow); a module whose mutants changed "
        "in number is run whole",
    )
    args = parser.parse_args(argv)
    earlier_counts, earlier_survivors = (
        previous_survivors(args.again) if args.again else ({}, set())
    )
    # Both, explicitly: a job started in the background inherits an ignored SIGINT.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    targets = [t for t in TARGETS if not args.only or args.only in t.path]
    if not args.list:
        prepare(targets)
    totals = [0, 0]
    started = time.monotonic()
    for target in targets:
        mutants = mutants_of(target)
        if args.list:
            for m in mutants:
                print(f"{m.path}:{m.line}  [{m.operator}]  {m.before}  ->  {m.after}")
            totals[0] += len(mutants)
            continue
        status, baseline = run_tests(target, timeout=1800)
        if status != "passed":
            print(f"{target.path}: its tests fail without any mutation; skipped", flush=True)
            continue
        timeout = baseline * 3 + 30
        survivors: list[Mutant] = []
        hung = 0
        to_run = mutants
        if earlier_counts.get(target.path) == len(mutants):
            to_run = [m for m in mutants if key_of(m) in earlier_survivors]
            print(f"{target.path}: running the {len(to_run)} earlier survivors", file=sys.stderr)
        for mutant in to_run:
            outcome, _seconds = run_tests(target, timeout, mutant.source)
            print("." if outcome != "passed" else "S", end="", file=sys.stderr, flush=True)
            hung += outcome == "timeout"
            if outcome == "passed":
                survivors.append(mutant)
        killed = len(mutants) - len(survivors)
        totals[0] += len(mutants)
        totals[1] += killed
        rate = 100 * killed / len(mutants) if mutants else 100.0
        print(
            f"{target.path}: {len(mutants)} mutants, {killed} killed ({hung} by timeout), "
            f"{len(survivors)} survived, {rate:.1f}% killed "
            f"(tests {baseline:.0f} s)",
            flush=True,
        )
        for m in survivors:
            print(f"  SURVIVED {m.path}:{m.line}  [{m.operator}]  {m.before}  ->  {m.after}")
    if args.list:
        print(f"{totals[0]} mutants")
        return 0
    mutants_total, killed_total = totals
    rate = 100 * killed_total / mutants_total if mutants_total else 100.0
    minutes = (time.monotonic() - started) / 60
    print(
        f"TOTAL: {mutants_total} mutants, {killed_total} killed, "
        f"{mutants_total - killed_total} survived, {rate:.1f}% killed, {minutes:.1f} min"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
