"""Export of 10,000 units' reports to .xlsx: ``ReportingService.snapshots`` + ``write_xlsx``.

The same path as ``/export`` and ``python -m bot export``: every unit's latest submitted
version (or its draft), then one workbook with a row per unit, a column per question, the
totals overall and per unit kind, and the sheet of units that have not submitted. The data:
``units`` units of the province's kinds, 7 in 10 submitted, 2 in 10 drafts.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from sqlmodel import col, select

from bench.common import Figure, peak_memory, timed
from bench.data import CAMPAIGN_NOW, build_campaign
from bench.planning import BUDGET_S, snapshot_estimate
from domain.accounts import unit_ref
from domain.clock import FixedClock
from domain.export import ExportSheet, write_xlsx
from domain.i18n import translator_for
from domain.periods import PeriodView
from domain.reporting import ReportSnapshot
from domain.services import Services, build_services
from storage.models import Unit

NAME = "export"
GOAL_S = 5.0


def sampled_snapshots(services: Services, period: PeriodView, sample: int) -> list[ReportSnapshot]:
    """Every unit, each carrying the snapshot of one of ``sample`` units spread over all
    (same statuses and answers in the same proportions): what the workbook is made of, when
    ``snapshots()`` itself is too slow to wait for."""
    with services.db.transaction() as session:
        units = session.exec(select(Unit).order_by(col(Unit.kind), col(Unit.code))).all()
        step = max(1, len(units) // sample)
        made = {
            index: services.reporting._snapshot(session, units[index], period)
            for index in range(0, len(units), step)
        }
        return [
            dataclasses.replace(made[index - index % step], unit=unit_ref(unit))
            for index, unit in enumerate(units)
        ]


def measure(services: Services, units: int, label: str) -> list[Figure]:
    period = services.periods.by_key(f"six_month:{CAMPAIGN_NOW.year}")
    assert period is not None
    t = translator_for("vi", services.tz)
    form = services.reporting.form(period.form_key)
    estimate = snapshot_estimate(services, period, units)
    print(f"  snapshots of {units} units: about {estimate:.1f} s (from a sample)", flush=True)
    figures: list[Figure] = []
    if estimate > BUDGET_S:
        snapshots = sampled_snapshots(services, period, 40)
        snap_seconds = estimate
        figures.append(
            Figure(NAME, f"snapshots(), {label}", estimate, "s", note="estimated from 40 units")
        )
    else:
        snapshots, snap_seconds = timed(lambda: services.reporting.snapshots(period))
        figures.append(Figure(NAME, f"snapshots(), {label}", snap_seconds, "s"))
    sheet = ExportSheet(period.label("vi"), form, snapshots)
    content, xlsx_seconds = timed(lambda: write_xlsx([sheet], t, generated_at=services.clock.now()))
    figures.append(
        Figure(
            NAME,
            f"write_xlsx, {label}",
            xlsx_seconds,
            "s",
            note=f"{len(content) / 2**20:.1f} MiB, {len(form.questions)} questions",
        )
    )
    total = snap_seconds + xlsx_seconds
    estimated = estimate > BUDGET_S
    figures.append(
        Figure(
            NAME,
            f"export total, {label}",
            total,
            "s",
            "≤ 5 s",
            total <= GOAL_S,
            "snapshots estimated" if estimated else "",
        )
    )
    _, peak = peak_memory(lambda: write_xlsx([sheet], t, generated_at=services.clock.now()))
    figures.append(Figure(NAME, "write_xlsx: peak memory (tracemalloc)", peak / 2**20, "MiB"))
    return figures


def run(*, quick: bool = False) -> list[Figure]:
    units = 300 if quick else 10_000
    label = f"{units:,} units"
    print(f"export: {label}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        campaign = build_campaign(Path(tmp) / "export.sqlite3", units)
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
