"""Mutation testing of the domain modules that decide who gets what and when (`make mutate`).

mutmut 3 reads one configuration from ``[tool.mutmut]`` in pyproject.toml; this wrapper narrows it
per target: which files are mutated and which (fast, unit or service level) tests judge them, so a
run on two cores takes minutes, not hours. Usage::

    python -m tools.mutate access            # one target
    python -m tools.mutate access reminder_plan
    python -m tools.mutate all
    python -m tools.mutate --list
    python -m tools.mutate --again access    # after adding tests: only the last survivors

Every run starts from a fresh ``mutants/`` (mutmut's working copy, git-ignored) and ends with the
count per file: killed / total, and the names of the survivors (``mutmut show NAME`` prints one).
The results are recorded by hand in docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path


class Target:
    """Files to mutate, the tests that judge them, and optionally only some of their functions
    (mutmut's mutant names: ``domain.export.x_table__mutmut_3``; a method is ``xǁClassǁname``)."""

    def __init__(self, files: list[str], tests: list[str], functions: list[str] | None = None):
        self.files = files
        self.tests = tests
        self.functions = functions


# Smallest and most important first. The tests are the ones that exercise the module quickly; the
# end-to-end suite is deliberately left out (it would make every mutant cost seconds).
TARGETS: dict[str, Target] = {
    "access": Target(
        ["domain/commands.py", "domain/identity.py"],
        ["tests/test_access.py"],
    ),
    "registration": Target(
        ["domain/registration.py"],
        [
            "tests/test_invite_lockout.py",
            "tests/test_registration_rules.py",
        ],
    ),
    "reminder_plan": Target(
        ["domain/reminder_plan.py"],
        ["tests/calendar/test_reminder_plan.py", "tests/calendar/test_reminder_steps.py"],
    ),
    # The submission and its lateness (not the form dialogue, which tests/forms/ judges).
    "reporting": Target(
        ["domain/reporting/answering.py"],
        ["tests/test_deadline_boundary.py"],
        ["domain.reporting.answering.xǁFormInputǁ_submit__mutmut_*"],
    ),
    # The table behind the .xlsx and .csv (totals, statuses, formula defusing); the xlsx styling
    # and the end-to-end /export are left to tests/test_export*.py, too slow to mutate against.
    "export": Target(
        ["domain/export.py"],
        ["tests/test_export_totals.py"],
        [
            "domain.export.x_table__mutmut_*",
            "domain.export.x__kind_label__mutmut_*",
            "domain.export.x__status_label__mutmut_*",
            "domain.export.x__cell_value__mutmut_*",
            "domain.export.x_looks_like_formula__mutmut_*",
            "domain.export.x__csv_value__mutmut_*",
            "domain.export.x_write_csv__mutmut_*",
            "domain.export.x__sheet_title__mutmut_*",
        ],
    ),
}

# What the tests import besides the mutated package (mutmut runs them inside mutants/).
ALSO_COPY = [
    "bot",
    "commands",
    "handlers",
    "scheduler",
    "storage",
    "standin",
    "zalo",
    "tools",
    "content",
    "locales",
    "babel.cfg",
]


def _counts(files: list[str], patterns: list[str]) -> tuple[int, int, list[str], dict[str, int]]:
    from fnmatch import fnmatchcase

    from mutmut.stats import status_by_exit_code

    killed = total = 0
    survivors: list[str] = []
    by_status: dict[str, int] = {}
    for file in files:
        meta = Path("mutants") / (file + ".meta")
        if not meta.exists():
            continue
        data = json.loads(meta.read_text("utf-8"))
        for name, code in data["exit_code_by_key"].items():
            if not any(fnmatchcase(name, pattern) for pattern in patterns):
                continue
            status = status_by_exit_code[code]
            by_status[status] = by_status.get(status, 0) + 1
            total += 1
            if status in ("killed", "timeout", "caught by type check"):
                killed += 1
            else:
                survivors.append(f"{status}: {name}")
    return killed, total, survivors, by_status


def run(name: str, max_children: int, *, again: bool = False) -> int:
    import mutmut.__main__ as mutmut_main
    from mutmut import configuration

    target = TARGETS[name]
    patterns = target.functions or [
        file.removesuffix(".py").replace("/", ".") + ".*" for file in target.files
    ]
    selected = patterns
    if again:  # only the survivors of the last run, judged by the tests as they are now
        _killed, _total, survivors, _by_status = _counts(target.files, patterns)
        selected = [line.split(": ", 1)[1] for line in survivors]
        if not selected:
            print(f"{name}: no survivors to run again")
            return 0
    else:
        shutil.rmtree("mutants", ignore_errors=True)
    configuration.reset_config()
    base = configuration.config()
    configuration._config = replace(
        base,
        source_paths=[Path("domain")],
        resolved_mutated_source_paths=[Path.cwd().resolve() / "mutants" / "domain"],
        only_mutate=target.files,
        also_copy=[Path(p) for p in ALSO_COPY] + base.also_copy,
        pytest_add_cli_args_test_selection=target.tests,
    )
    try:
        mutmut_main.cli(
            ["run", "--max-children", str(max_children), *selected], standalone_mode=False
        )
    except SystemExit as exit_:
        if exit_.code:
            return int(exit_.code)
    killed, total, survivors, by_status = _counts(target.files, patterns)
    rate = f"{100 * killed / total:.1f}%" if total else "n/a"
    print(f"\n== {name}: {killed}/{total} killed ({rate}) {by_status}")
    for survivor in survivors:
        print("   ", survivor)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["access"])
    parser.add_argument("--max-children", type=int, default=2)
    parser.add_argument("--list", action="store_true")
    parser.add_argument(
        "--again", action="store_true", help="keep mutants/ and rerun only the last survivors"
    )
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {' '.join(target.files)} <- {' '.join(target.tests)}")
        return 0
    names = list(TARGETS) if args.targets == ["all"] else args.targets
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; one of {sorted(TARGETS)} or all")
    status = 0
    for name in names:
        status = run(name, args.max_children, again=args.again) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
