"""Run the benchmarks and print a table of figures.

    python -m bench.run                  # every benchmark at full size (about 30 minutes)
    python -m bench.run --quick          # small sizes, about a minute and a half
    python -m bench.run --only planning  # one benchmark (forms, planning, startup, export,
                                         # mixed_broadcast, broadcast); repeatable

Each benchmark module has ``run(quick=...) -> list[Figure]``; ``bench/broadcast.py`` (another
engineer's, a script of its own) runs as a subprocess and its printed figures are picked up.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable

from bench import export, forms, mixed_broadcast, planning, startup
from bench.common import ROOT, Figure, render_table

Runner = Callable[..., list[Figure]]
BENCHMARKS: dict[str, Runner] = {
    "forms": forms.run,
    "planning": planning.run,
    "startup": startup.run,
    "export": export.run,
    "mixed_broadcast": mixed_broadcast.run,
}


def broadcast(*, quick: bool = False) -> list[Figure]:
    """``bench/broadcast.py`` (when it exists) in a subprocess; its two key lines as figures."""
    script = ROOT / "bench" / "broadcast.py"
    if not script.exists():
        return [Figure("broadcast", "not run", None, "", note="bench/broadcast.py is missing")]
    size = ["--recipients", "500", "--rate", "100"] if quick else []
    done = subprocess.run(
        [sys.executable, str(script), *size], cwd=ROOT, capture_output=True, text=True
    )
    print(done.stdout, end="", flush=True)
    label = "500 at 100/s" if quick else "10,000 at 30/s"
    ratio = re.search(r"= ([0-9.]+) of the configured limit", done.stdout)
    faults = re.search(r"duplicates (\d+), losses (\d+)", done.stdout)
    figures: list[Figure] = []
    if ratio:
        value = float(ratio.group(1))
        figures.append(
            Figure(
                "broadcast",
                f"achieved / configured rate, {label}",
                value,
                "",
                "≥ 0.95",
                value >= 0.95,
            )
        )
    if faults:
        dup, lost = int(faults.group(1)), int(faults.group(2))
        figures.append(Figure("broadcast", "duplicates", dup, "", "0", dup == 0))
        figures.append(Figure("broadcast", "losses", lost, "", "0", lost == 0))
    if not figures:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        figures.append(
            Figure("broadcast", "failed", None, "", note=f"exit {done.returncode}: {tail[0]}")
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute and a half)")
    parser.add_argument(
        "--only",
        action="append",
        choices=[*BENCHMARKS, "broadcast"],
        help="run only this benchmark (repeatable)",
    )
    args = parser.parse_args(argv)
    runners: dict[str, Runner] = {**BENCHMARKS, "broadcast": broadcast}
    chosen = args.only or list(runners)
    print(
        f"python {platform.python_version()} on {platform.machine()}; "
        f"{'quick' if args.quick else 'full'} sizes",
        flush=True,
    )
    figures: list[Figure] = []
    for name in chosen:
        started = time.perf_counter()
        try:
            figures.extend(runners[name](quick=args.quick))
        except Exception as error:  # one benchmark failing must not hide the others' figures
            figures.append(
                Figure(name, "failed", None, "", note=f"{type(error).__name__}: {error}"[:120])
            )
        print(f"({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)
    print(render_table(figures))
    return 1 if any(f.ok is False or f.name == "failed" for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
