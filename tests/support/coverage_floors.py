"""Branch coverage per package against floors that only go up (`make test` runs this after
pytest --cov). Floors live in tests/coverage_floors.toml; docs/testing.md says why a
package's floor is below the 90% the domain aims for.

    python -m tests.support.coverage_floors [--data .coverage]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from collections import defaultdict
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[2]
FLOORS = ROOT / "tests" / "coverage_floors.toml"
SLACK = 2.0  # points above the floor before we ask for the floor to be raised


def package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "functions" and parts[1] == "helpdesk":
        return "helpdesk" if len(parts) == 3 else f"helpdesk.{parts[2]}"
    if parts[0] == "functions":
        return "api" if parts[1] == "api" else "handlers"
    return parts[0]


def measure(data_file: Path) -> dict[str, tuple[int, int, int, int]]:
    """package -> (statements, missed statements, branches, missed branches)."""
    cov = coverage.Coverage(data_file=str(data_file))
    cov.load()
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "coverage.json"
        cov.json_report(outfile=str(report), ignore_errors=True)
        files = json.loads(report.read_text())["files"]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for filename, measured in files.items():
        path = (ROOT / filename).resolve()
        if not path.is_relative_to(ROOT):
            continue
        summary = measured["summary"]
        total = totals[package_of(path)]
        total[0] += summary["num_statements"]
        total[1] += summary["missing_lines"]
        total[2] += summary.get("num_branches", 0)
        total[3] += summary.get("missing_branches", 0)
    return {name: (t[0], t[1], t[2], t[3]) for name, t in totals.items()}


def percent(total: int, missed: int) -> float:
    return 100.0 if total == 0 else 100.0 * (total - missed) / total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT / ".coverage")
    args = parser.parse_args()
    floors: dict[str, float] = tomllib.loads(FLOORS.read_text())["floors"]
    packages = measure(args.data)
    if not packages:
        print("coverage: no data measured", file=sys.stderr)
        return 1
    failures, raise_hints = [], []
    print(f"\n{'package':<24} {'lines':>7} {'branches':>9} {'floor':>7}")
    for name in sorted(packages):
        statements, missed, branches, missed_branches = packages[name]
        branch_pct = percent(branches, missed_branches)
        floor = floors.get(name)
        mark = ""
        if floor is None:
            failures.append(f"{name}: no floor in {FLOORS.name} (measured {branch_pct:.1f}%)")
            mark = "  <- no floor"
        elif branch_pct < floor:
            failures.append(f"{name}: branch coverage {branch_pct:.1f}% is below its floor "
                            f"{floor:.1f}%")
            mark = "  <- below floor"
        elif branch_pct >= floor + SLACK:
            raise_hints.append(f"{name} = {int(branch_pct)}")
        shown_floor = "-" if floor is None else f"{floor:.0f}%"
        print(f"{name:<24} {percent(statements, missed):6.1f}% {branch_pct:8.1f}% "
              f"{shown_floor:>7}{mark}")
    if raise_hints:
        print(f"\nfloors may go up in {FLOORS.name}: " + ", ".join(raise_hints))
    for failure in failures:
        print(f"coverage: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
