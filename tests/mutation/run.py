#!/usr/bin/env python3
"""Hand-written mutants of the branches that carry the invariants: does a targeted test subset notice each?

    .venv/bin/python tests/mutation/run.py               # every mutant (about 5-8 minutes on 2 cores)
    .venv/bin/python tests/mutation/run.py --check       # only check that every snippet is still in the tree
    .venv/bin/python tests/mutation/run.py --only hub-gap-applies,lua-ingest-tombstone

Not a test module (pytest collects test_*.py only). Standard library only.

The working tree is never changed: the tree is copied once to a temporary directory (without .git, .venv
and caches), and each mutant is applied to its own copy of that copy. Its tests run there with
PYTHONPATH set to the copy: the venv's editable install points at the working tree, so the runner first
checks that the copy's `gateway` and `counters` are the ones imported (and refuses to run otherwise).

A mutant names its file, an exact snippet of it (which must occur exactly once: an edited file makes the
runner stop with a clear message rather than test nothing), the replacement, and its tests by file name
(resolved under tests/, wherever the file lives now) with an optional ::node suffix. Result per mutant:
killed (a test failed), timeout (counted as killed), survived, or error (pytest could not run: exit 2-5).
A mutant known to be equivalent carries the reason in `equivalent`; its survival does not fail the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mutants import MUTANTS, Mutant  # beside this script

ROOT = Path(__file__).resolve().parents[2]
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", "test-output"
)


def check_snippets(tree: Path, mutants: tuple[Mutant, ...]) -> list[str]:
    """A message per mutant whose snippet is not exactly once in its file under `tree`."""
    problems = []
    for mutant in mutants:
        file = tree / mutant.path
        if not file.is_file():
            problems.append(f"{mutant.name}: {mutant.path} does not exist")
            continue
        found = file.read_text().count(mutant.original)
        if found != 1:
            what = "not found" if found == 0 else f"found {found} times (must be unique)"
            problems.append(
                f"{mutant.name}: snippet {what} in {mutant.path}; the file changed, update the mutant:\n"
                + "".join(f"      | {line}\n" for line in mutant.original.splitlines())
            )
    return problems


def resolve_tests(tree: Path, specs: tuple[str, ...]) -> list[str]:
    """Test specs by file name -> paths relative to `tree` (exactly one file of that name under tests/)."""
    resolved = []
    for spec in specs:
        name, _, node = spec.partition("::")
        if "/" in name:  # a path relative to the root (a file or a directory): taken as it is
            found = [Path(name)] if (tree / name).exists() else []
        else:
            found = sorted(p.relative_to(tree) for p in (tree / "tests").rglob(name))
        if len(found) != 1:
            raise SystemExit(f"test file {name!r}: {len(found)} matches under tests/ ({found}); fix the mutant list")
        resolved.append(str(found[0]) + (f"::{node}" if node else ""))
    return resolved


def environment(tree: Path) -> dict[str, str]:
    """The tests' environment: the copy first on the path, their own embedded Valkey."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDDOT_TEST_REDIS_URL", "PYTHONPATH")}
    return env | {"PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}


def check_imports(python: str, tree: Path) -> None:
    """Refuse to go on unless `gateway` and `counters` are imported from `tree` (not the editable install)."""
    probe = "import counters, gateway; print(counters.__file__); print(gateway.__file__)"
    out = subprocess.run(
        [python, "-c", probe], cwd=tree, env=environment(tree), capture_output=True, text=True, timeout=60
    )
    files = out.stdout.split()
    if out.returncode != 0 or len(files) != 2 or not all(Path(f).is_relative_to(tree) for f in files):
        raise SystemExit(f"the copy at {tree} is not what gets imported: {out.stdout}{out.stderr}")


def run_pytest(python: str, tree: Path, tests: list[str], timeout: float, log: Path) -> tuple[str, float]:
    """Run the tests in `tree`; (result, seconds). The whole process group goes at the timeout."""
    cmd = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--timeout", "60", *tests]
    started = time.monotonic()
    with log.open("w") as out:
        out.write(" ".join(cmd) + "\n\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=tree, env=environment(tree), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "timeout", time.monotonic() - started
    seconds = time.monotonic() - started
    return {0: "survived", 1: "killed"}.get(code, f"error (pytest exit {code})"), seconds


def table(rows: list[tuple[str, str, str, str]]) -> str:
    """Rows as an aligned text table."""
    head = ("mutant", "tests", "result", "seconds")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]

    def line(row: tuple[str, ...]) -> str:
        cells = (c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        return "  ".join(cells).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated mutant names")
    parser.add_argument("--check", action="store_true", help="only check the snippets against the working tree")
    parser.add_argument("--no-baseline", action="store_true", help="skip running the subsets on the real code first")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per mutant (then: timeout)")
    parser.add_argument("--budget", type=float, default=900, help="seconds for the whole run (the rest: skipped)")
    parser.add_argument("--python", default=sys.executable, help="the venv's python (default: this one)")
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "reddot-mutation-logs")
    parser.add_argument("--tests", help="comma-separated test specs to run for every mutant instead of its own")
    parser.add_argument("--source", type=Path, default=ROOT, help="the tree to copy and mutate (default: this repo)")
    args = parser.parse_args()

    mutants = MUTANTS
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {m.name for m in MUTANTS}
        if unknown:
            raise SystemExit(f"unknown mutants: {sorted(unknown)}")
        mutants = tuple(m for m in MUTANTS if m.name in wanted)
    source = args.source.resolve()
    problems = check_snippets(source, mutants)
    if problems:
        print("STALE MUTANTS (their snippets no longer match the working tree):", file=sys.stderr)
        print("\n".join(f"  {p}" for p in problems), file=sys.stderr)
        return 2
    if args.check:
        print(f"all {len(mutants)} snippets found exactly once in {source}")
        return 0

    start = time.monotonic()
    args.logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="reddot-mutation-") as tmp:
        base = Path(tmp) / "base"
        shutil.copytree(source, base, ignore=IGNORED, symlinks=True)  # one consistent copy of the tree
        problems = check_snippets(base, mutants)  # the tree may have changed since the first check
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 2
        check_imports(args.python, base)
        override = tuple(args.tests.split(",")) if args.tests else None
        tests = {m.name: resolve_tests(base, override or m.tests) for m in mutants}
        if not args.no_baseline:
            union = list(dict.fromkeys(t for m in mutants for t in tests[m.name]))
            print(f"baseline: {len(union)} test subsets on the real code ...", flush=True)
            result, seconds = run_pytest(args.python, base, union, args.timeout * 2, args.logs / "baseline.log")
            print(f"baseline: {result} ({seconds:.1f} s)", flush=True)
            if result != "survived":
                print(f"the real code fails its tests: see {args.logs / 'baseline.log'}", file=sys.stderr)
                return 2
        rows: list[tuple[str, str, str, str]] = []
        survivors: list[Mutant] = []
        for index, mutant in enumerate(mutants, 1):
            label = f"[{index}/{len(mutants)}] {mutant.name}"
            if time.monotonic() - start > args.budget:
                rows.append((mutant.name, ",".join(override or mutant.tests), "skipped (budget)", "-"))
                print(f"{label}: skipped, over the {args.budget:.0f} s budget", flush=True)
                continue
            print(f"{label} ({mutant.path}) ...", end=" ", flush=True)
            tree = Path(tmp) / mutant.name
            shutil.copytree(base, tree, symlinks=True)
            file = tree / mutant.path
            file.write_text(file.read_text().replace(mutant.original, mutant.replacement, 1))
            check_imports(args.python, tree)
            result, seconds = run_pytest(args.python, tree, tests[mutant.name], args.timeout,
                                         args.logs / f"{mutant.name}.log")  # fmt: skip
            shutil.rmtree(tree)
            if result == "survived":
                if mutant.equivalent:
                    result = "survived (equivalent)"
                else:
                    survivors.append(mutant)
            print(f"{result} ({seconds:.1f} s)", flush=True)
            rows.append((mutant.name, ",".join(override or mutant.tests), result, f"{seconds:.1f}"))

    print()
    print(table(rows))
    killed = sum(r[2] in ("killed", "timeout") for r in rows)
    print(f"\n{killed}/{len(rows)} killed in {time.monotonic() - start:.0f} s; logs in {args.logs}")
    for mutant in mutants:
        if mutant.equivalent:
            print(f"  equivalent {mutant.name}: {mutant.equivalent}")
    for mutant in survivors:
        print(f"  SURVIVED {mutant.name}: {mutant.path}: {mutant.original.strip()!r} -> {mutant.replacement.strip()!r}")
    errors = [r for r in rows if r[2].startswith(("error", "skipped"))]
    return 1 if survivors or errors else 0


if __name__ == "__main__":
    sys.exit(main())
