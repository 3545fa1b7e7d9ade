"""Reminder planning for 10,000 units and every period of a year, and its memory.

The planner (``domain.reminder_plan.plan_years``) works per period, never per unit: its cost
does not grow with the units. The units come in when a planned step is *composed*: who still
misses the report (``ReportingService.snapshots`` over every unit) and their reachable focal
points, each with a message in their language (``ReminderService._compose``). Composing is
synchronous, inside the bot's event loop: while it runs, nobody gets an answer.

The database: ``units`` units of the province's kinds, one focal point each, and reports of
the 6-month period of 2023 (7 in 10 submitted, 2 in 10 drafts, 1 in 10 not started), on
29 May 2023 (the "7 days left" reminder is due).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlmodel import col, select

from bench.common import Figure, best_of, peak_memory, timed
from bench.data import CAMPAIGN_NOW, Campaign, build_campaign
from domain.clock import FixedClock
from domain.periods import PeriodView
from domain.reminder_plan import ALL_FOCAL_POINTS, MISSING_UNITS, OFFICE, plan_years
from domain.services import Services, build_services
from storage.models import Unit

NAME = "planning"
GOAL_S = 0.100
# Above this, a figure is estimated from a sample instead of waited for.
BUDGET_S = 60.0
SAMPLE = 40


def snapshot_estimate(services: Services, period: PeriodView, units: int) -> float:
    """Seconds ``snapshots(period)`` would take, from the per-unit cost over a spread sample."""
    reporting = services.reporting
    with services.db.transaction() as session:
        rows = session.exec(select(Unit).order_by(col(Unit.kind), col(Unit.code))).all()
        step = max(1, len(rows) // SAMPLE)
        sample = rows[::step][:SAMPLE]
        _, seconds = timed(lambda: [reporting._snapshot(session, unit, period) for unit in sample])
    return seconds / len(sample) * units


def measure(services: Services, units: int, label: str) -> list[Figure]:
    figures: list[Figure] = []
    year = CAMPAIGN_NOW.year
    calendar = services.calendar
    plan = plan_years(calendar, [year])
    pure = best_of(lambda: plan_years(calendar, [year]), 20)
    figures.append(
        Figure(
            NAME,
            f"plan_years, every period of {year} ({len(plan)} steps)",
            pure * 1000,
            "ms",
            "≤ 100 ms",
            pure <= GOAL_S,
        )
    )
    with_db = best_of(lambda: services.reminders.plan([year]), 5)
    figures.append(
        Figure(
            NAME,
            "ReminderService.plan() (DB periods)",
            with_db * 1000,
            "ms",
            "≤ 100 ms",
            with_db <= GOAL_S,
        )
    )
    _, plan_peak = peak_memory(lambda: services.reminders.plan([year]))
    figures.append(Figure(NAME, "plan(): peak memory (tracemalloc)", plan_peak / 2**20, "MiB"))

    period = services.periods.by_key(f"six_month:{year}")
    assert period is not None
    step = next(p for p in plan if p.period_key == period.key and p.step == "before_7")
    assert step.audience == MISSING_UNITS
    estimate = snapshot_estimate(services, period, units)
    print(f"  snapshots of {units} units: about {estimate:.1f} s (from a sample)", flush=True)
    if estimate > BUDGET_S:
        note = f"estimated from {SAMPLE} units: a full run would take minutes"
        figures.append(
            Figure(NAME, f"snapshots(), {label}", estimate * 1000, "ms", "≤ 100 ms", False, note)
        )
        figures.append(
            Figure(
                NAME,
                f"compose 'before_7' to missing units, {label}",
                None,
                "ms",
                "≤ 100 ms",
                False,
                "not run: snapshots() alone is estimated above",
            )
        )
    else:
        snaps, seconds = timed(lambda: services.reporting.snapshots(period))
        figures.append(
            Figure(
                NAME, f"snapshots(), {label}", seconds * 1000, "ms", "≤ 100 ms", seconds <= GOAL_S
            )
        )
        missing = {s.unit.id for s in snaps if s.status != "submitted"}
        _, seconds = timed(lambda: services.reminders._focal_points(missing))
        figures.append(
            Figure(NAME, f"_focal_points() of {len(missing)} missing units", seconds * 1000, "ms")
        )
        outgoing, seconds = timed(lambda: services.reminders._compose(step))
        figures.append(
            Figure(
                NAME,
                f"compose 'before_7' to missing units, {label}",
                seconds * 1000,
                "ms",
                "≤ 100 ms",
                seconds <= GOAL_S,
                f"{len(outgoing)} messages",
            )
        )
        _, peak = peak_memory(lambda: services.reminders._compose(step))
        figures.append(Figure(NAME, "compose 'before_7': peak memory", peak / 2**20, "MiB"))
        office = next(p for p in plan if p.period_key == period.key and p.audience == OFFICE)
        _, seconds = timed(lambda: services.reminders._compose(office))
        figures.append(
            Figure(
                NAME, f"compose office list of missing units ({office.step})", seconds * 1000, "ms"
            )
        )
    announce = next(p for p in plan if p.audience == ALL_FOCAL_POINTS)
    outgoing, seconds = timed(lambda: services.reminders._compose(announce))
    figures.append(
        Figure(
            NAME,
            f"compose '{announce.step}' to all focal points, {label}",
            seconds * 1000,
            "ms",
            "≤ 100 ms",
            seconds <= GOAL_S,
            f"{len(outgoing)} messages",
        )
    )
    return figures


def run(*, quick: bool = False) -> list[Figure]:
    units = 300 if quick else 10_000
    label = f"{units:,} units"
    print(f"planning: {label}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        campaign: Campaign = build_campaign(Path(tmp) / "planning.sqlite3", units)
        print(f"  data: {campaign.answers:,} answers in {campaign.seconds:.1f} s", flush=True)
        services = build_services(campaign.db, FixedClock(CAMPAIGN_NOW))
        try:
            return measure(services, units, label)
        finally:
            campaign.db.engine.dispose()


if __name__ == "__main__":
    import argparse

    from bench.common import render_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(render_table(run(quick=parser.parse_args().quick)))
