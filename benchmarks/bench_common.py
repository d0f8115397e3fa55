"""Helpers shared by the benchmark scripts: peak memory, the printed table, progress lines."""

from __future__ import annotations

import math
import resource
import sys
import time

from synth_dagster.engine import EngineProgress, ProgressCallback


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(rows: list[dict[str, str]]) -> None:
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r.get(k, "")) for r in rows)) for k in keys}
    print(" | ".join(k.ljust(widths[k]) for k in keys))
    print("-|-".join("-" * widths[k] for k in keys))
    for r in rows:
        print(" | ".join(r.get(k, "").ljust(widths[k]) for k in keys))


def fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def progress_printer(enabled: bool) -> ProgressCallback:
    """Training events on stderr (not generation batches): shows where a long run spends its time."""
    started = time.perf_counter()

    def show(p: EngineProgress) -> None:
        if enabled and p.step != "GENERATE_DATA":
            print(f"[{time.perf_counter() - started:6.0f} s] {p.step} {p.message}", file=sys.stderr)

    return show
