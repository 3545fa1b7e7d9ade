"""What every benchmark shares: figures and their table, percentiles, timing, the loopback."""

from __future__ import annotations

import gc
import math
import os
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    """One measured number, its goal (if the issue sets one) and whether it meets it."""

    benchmark: str
    name: str
    value: float | None
    unit: str
    goal: str = ""
    ok: bool | None = None  # None: no goal for this figure
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return "—"
        if isinstance(self.value, float) and not self.unit:
            text = f"{self.value:.2f}"
        elif self.unit in {"ms", "s", "MB", "MiB"} or self.value != int(self.value):
            digits = 0 if abs(self.value) >= 100 else 1 if abs(self.value) >= 10 else 2
            text = f"{self.value:,.{digits}f}"
        else:
            text = f"{int(self.value):,}"
        return f"{text} {self.unit}".strip()

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("ok" if self.ok else "MISSED")


def render_table(figures: Sequence[Figure]) -> str:
    """A plain-text table (also valid Markdown) of the figures."""
    header = ("benchmark", "figure", "value", "goal", "verdict", "note")
    rows = [(f.benchmark, f.name, f.shown(), f.goal, f.verdict, f.note) for f in figures]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100), interpolated between the closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def timed(function: Callable[[], T]) -> tuple[T, float]:
    """Run once; return the result and the seconds it took (garbage collected first)."""
    gc.collect()
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def best_of(function: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in seconds (the least disturbed by the machine)."""
    return min(timed(function)[1] for _ in range(repeat))


def peak_memory(function: Callable[[], T]) -> tuple[T, int]:
    """Run under tracemalloc; return the result and the peak bytes allocated during the run."""
    gc.collect()
    tracemalloc.start()
    try:
        result = function()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@contextmanager
def loopback_only() -> Iterator[None]:
    """Never let httpx send loopback traffic to a proxy from the environment."""
    saved = {name: os.environ.get(name) for name in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc (Linux), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


def hwm_mib(pid: int) -> float:
    """Peak resident set size of a process so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmHWM")
