"""Time the QA metrics and both HTML reports on 50,000 rows x 20 columns (target: <= 30 s).

    python benchmarks/qa.py [--rows 50000] [--out /tmp/qa-bench]

Prints one table: each stage's wall time, the headline metrics and the report sizes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from synth_dagster.qa import assess, data_report, model_report


def make_table(n: int, seed: int) -> pd.DataFrame:
    """20 mixed columns with dependencies between them, like a customer/transactions table."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    segment = rng.choice(["retail", "business", "public", "student"], n, p=[0.55, 0.25, 0.12, 0.08])
    boost = (
        pd.Series(segment).map({"retail": 0.0, "business": 1.0, "public": 0.5, "student": -0.8}).to_numpy()
    )
    age = np.clip(40 + 12 * z[:, 0] + 5 * boost, 18, 95).round()
    income = np.exp(10 + 0.4 * z[:, 0] + 0.5 * boost + 0.3 * rng.normal(size=n)).round(2)
    cities = [f"city_{i:02d}" for i in range(40)]
    city_p = np.arange(40, 0, -1) / np.arange(40, 0, -1).sum()
    signup = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D")
    df = pd.DataFrame(
        {
            "age": age.astype("int64"),
            "income": income,
            "score": (600 + 60 * z[:, 1] + 30 * z[:, 0]).round(),
            "balance": np.where(rng.random(n) < 0.1, np.nan, income * rng.gamma(2.0, 0.1, n)),
            "tenure_years": rng.poisson(3 + 2 * (boost > 0), n),
            "n_products": rng.integers(1, 6, n),
            "monthly_spend": (income / 60 * np.exp(0.3 * z[:, 2])).round(2),
            "discount": rng.choice([0.0, 0.05, 0.1, 0.2], n),
            "latitude": 47 + rng.normal(0, 1.5, n),
            "longitude": 13 + rng.normal(0, 2.5, n),
            "segment": segment,
            "city": rng.choice(cities, n, p=city_p),
            "channel": rng.choice(["web", "app", "branch", "phone", None], n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
            "plan": np.where(income > 30_000, "premium", np.where(income > 15_000, "plus", "basic")),
            "gender": rng.choice(["f", "m", "d"], n, p=[0.49, 0.49, 0.02]),
            "newsletter": rng.random(n) < 0.3,
            "referrer": [f"user_{i}" for i in rng.integers(0, 20_000, n)],  # high cardinality
            "country": rng.choice(["AT", "DE", "CH", "IT"], n),
            "signup_date": signup,
            "last_login": signup + pd.to_timedelta(rng.integers(0, 600, n), unit="D"),
        }
    )
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "synth-dagster-qa-bench")
    args = parser.parse_args()

    training, holdout, synthetic = (make_table(args.rows, s) for s in (1, 2, 3))
    rows: list[tuple[str, str]] = []

    t0 = time.perf_counter()
    evaluation = assess(synthetic, training, holdout)
    t_metrics = time.perf_counter() - t0
    t1 = time.perf_counter()
    model_html = model_report(evaluation, args.out / "model-report.html", subtitle="benchmark")
    t_model = time.perf_counter() - t1
    t2 = time.perf_counter()
    data_eval = assess(synthetic, training)
    data_html = data_report(data_eval, args.out / "data-report.html", subtitle="benchmark")
    t_data = time.perf_counter() - t2
    total = t_metrics + t_model

    m = evaluation.metrics
    assert m.accuracy is not None and m.similarity is not None and m.distances is not None
    rows += [
        ("dataset", f"{args.rows:,} rows x {training.shape[1]} columns (training, holdout, synthetic)"),
        ("metrics (assess)", f"{t_metrics:6.2f} s"),
        ("model report (render + write)", f"{t_model:6.2f} s   {len(model_html) / 1e6:.1f} MB"),
        ("metrics + model report", f"{total:6.2f} s   target <= 30 s: {'OK' if total <= 30 else 'MISSED'}"),
        ("data report (assess + render)", f"{t_data:6.2f} s   {len(data_html) / 1e6:.1f} MB"),
        ("accuracy overall / max", f"{m.accuracy.overall:.4f} / {m.accuracy.overall_max:.4f}"),
        (
            "univariate / bivariate / trivariate",
            f"{m.accuracy.univariate:.4f} / {m.accuracy.bivariate:.4f} / {m.accuracy.trivariate:.4f}",
        ),
        (
            "discriminator AUC syn / hol",
            f"{m.similarity.discriminator_auc_training_synthetic:.4f} / {m.similarity.discriminator_auc_training_holdout:.4f}",
        ),
        (
            "cosine similarity syn / hol",
            f"{m.similarity.cosine_similarity_training_synthetic:.5f} / {m.similarity.cosine_similarity_training_holdout:.5f}",
        ),
        ("DCR share", f"{m.distances.dcr_share:.4f}"),
        (
            "IMS trn / hol / trn-hol",
            f"{m.distances.ims_training:.4f} / {m.distances.ims_holdout:.4f} / {m.distances.ims_trn_hol:.4f}",
        ),
        ("reports written to", str(args.out)),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'stage':<{width}}  result")
    print(f"{'-' * width}  {'-' * 40}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
