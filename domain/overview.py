"""Where the reporting campaign stands: counts per unit kind, who is missing, a chart."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field

from domain.i18n import Translator
from domain.periods import PeriodView
from domain.reporting import ReportSnapshot

KINDS = ("department", "organisation", "district", "commune")
STATES = ("on_time", "late", "draft", "not_started")


def state_of(snapshot: ReportSnapshot) -> str:
    if snapshot.status == "submitted":
        return "late" if snapshot.late else "on_time"
    return snapshot.status


@dataclass(frozen=True)
class CampaignStatus:
    period: PeriodView
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # kind -> state -> units
    missing: tuple[ReportSnapshot, ...] = ()

    @property
    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counter in self.counts.values():
            total.update(counter)
        return total


def campaign_status(period: PeriodView, snapshots: list[ReportSnapshot]) -> CampaignStatus:
    counts: dict[str, Counter[str]] = {}
    for snapshot in snapshots:
        counts.setdefault(snapshot.unit.kind, Counter())[state_of(snapshot)] += 1
    missing = tuple(s for s in snapshots if s.status != "submitted")
    return CampaignStatus(period, counts, missing)


def state_labels(t: Translator) -> dict[str, str]:
    return {
        "on_time": t("On time"),
        "late": t("Late"),
        "draft": t("In progress"),
        "not_started": t("Not started"),
    }


def kind_labels(t: Translator) -> dict[str, str]:
    return {
        "department": t("Department"),
        "organisation": t("Organisation"),
        "district": t("District"),
        "commune": t("Commune"),
    }


def status_chart_png(status: CampaignStatus, t: Translator) -> bytes:
    """A stacked bar chart, one bar per unit kind, large enough to read on a phone."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import pyplot as plt

    kinds = [kind for kind in KINDS if kind in status.counts]
    colours = {
        "on_time": "#2e7d32",
        "late": "#f9a825",
        "draft": "#1565c0",
        "not_started": "#c62828",
    }
    labels, names = state_labels(t), kind_labels(t)
    figure, axes = plt.subplots(figsize=(7, 5), dpi=120)
    bottoms = [0] * len(kinds)
    for state in STATES:
        values = [status.counts[kind][state] for kind in kinds]
        bars = axes.bar(
            [names[k] for k in kinds],
            values,
            bottom=bottoms,
            color=colours[state],
            label=labels[state],
        )
        for bar, value, bottom in zip(bars, values, bottoms, strict=True):
            if value:
                axes.text(
                    bar.get_x() + bar.get_width() / 2,
                    bottom + value / 2,
                    str(value),
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=12,
                    fontweight="bold",
                )
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_title(status.period.label(t.language), fontsize=14)
    axes.set_ylabel(t("Units"), fontsize=12)
    axes.tick_params(labelsize=11)
    axes.legend(loc="upper right", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
