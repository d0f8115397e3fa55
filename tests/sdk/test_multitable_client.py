"""Multi-table generators through SynthClient: train in a worker, probe and generate dicts of
tables, seeds across tables, sizes per subject table, and the metrics of child tables.

Follows the reference's "Time-series data" and "Multi-table relational data with non-context
foreign keys" examples on small tables built here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk import Generator, SynthClient

QUICK = {"max_epochs": 6, "model": "MOSTLY_AI/Small"}


def _tables(seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    users = pd.DataFrame({"users_id": [f"u{i:03d}" for i in range(120)], "tier": rng.choice(["a", "b"], 120)})
    products = pd.DataFrame({"product_id": np.arange(1, 31), "price": rng.integers(1, 100, 30).astype(float)})
    rows = []
    for uid, tier in zip(users.users_id, users.tier, strict=True):
        date = pd.Timestamp("1997-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        for _ in range(int(rng.integers(1, 6 if tier == "b" else 3))):
            date += pd.Timedelta(days=int(rng.integers(1, 30)))
            rows.append(
                {
                    "users_id": uid,
                    "date": date,
                    "cds": int(rng.integers(1, 5)),
                    "product_id": int(rng.integers(1, 31)),
                }
            )
    return {"users": users, "products": products, "purchases": pd.DataFrame(rows)}


@pytest.fixture(scope="module")
def shop(client: SynthClient) -> tuple[Generator, dict[str, pd.DataFrame]]:
    frames = _tables()
    g = client.train(
        config={
            "name": "CDNOW-like",
            "tables": [
                {
                    "name": "users",
                    "data": frames["users"],
                    "primary_key": "users_id",
                    "tabular_model_configuration": QUICK,
                },
                {
                    "name": "products",
                    "data": frames["products"],
                    "primary_key": "product_id",
                    "tabular_model_configuration": QUICK,
                },
                {
                    "name": "purchases",
                    "data": frames["purchases"],
                    "foreign_keys": [
                        {"column": "users_id", "referenced_table": "users", "is_context": True},
                        {"column": "product_id", "referenced_table": "products", "is_context": False},
                    ],
                    "tabular_model_configuration": QUICK,
                },
            ],
        },
        start=True,
        wait=True,
    )
    return g, frames


def test_train_probe_and_generate_return_all_tables(client: SynthClient, shop) -> None:
    g, frames = shop
    assert g.training_status is ProgressStatus.DONE
    probe = client.probe(g, size=25)
    assert isinstance(probe, dict) and set(probe) == {"users", "products", "purchases"}
    assert len(probe["users"]) == 25 and len(probe["products"]) == 25
    assert probe["users"].users_id.is_unique
    assert probe["purchases"].users_id.isin(probe["users"].users_id).all()
    assert probe["purchases"].product_id.isin(probe["products"].product_id).all()
    assert list(probe["purchases"].columns) == list(frames["purchases"].columns)
    sd = client.generate(g, size={"users": 40, "products": 10})
    data = sd.data()
    assert sd.generation_status is ProgressStatus.DONE
    assert (len(data["users"]), len(data["products"])) == (40, 10)
    assert data["purchases"].users_id.isin(data["users"].users_id).all()
    assert data["purchases"].product_id.isin(data["products"].product_id).all()


def test_seed_dict_starts_the_sequences(client: SynthClient, shop) -> None:
    g, _ = shop
    ids = [f"sim-{i:03d}" for i in range(10)]
    seed_users = pd.DataFrame({"users_id": ids, "tier": ["b"] * 10})
    seed_purchases = pd.DataFrame(
        {
            "users_id": [i for i in ids for _ in range(2)],
            "date": pd.to_datetime(["1997-01-12", "1997-01-20"] * 10),
            "cds": [1, 4] * 10,
        }
    )
    out = client.probe(g, seed={"users": seed_users, "purchases": seed_purchases})
    assert out["users"].users_id.tolist() == ids
    heads = out["purchases"].groupby("users_id").head(2).reset_index(drop=True)
    pd.testing.assert_frame_equal(heads[["users_id", "date", "cds"]], seed_purchases, check_dtype=False)


def test_child_tables_carry_context_and_relation_metrics(shop) -> None:
    g, _ = shop
    metrics = {t.name: t.tabular_model_metrics for t in g.tables}
    purchases = metrics["purchases"]
    assert purchases is not None and purchases.accuracy is not None
    assert purchases.accuracy.coherence is not None  # assessed as sequences per user
    assert purchases.relations is not None
    (relation,) = purchases.relations
    assert relation.foreign_key == "product_id" and relation.referenced_table == "products"
    assert relation.referential_integrity == 1.0
    assert 0.0 < relation.bivariate <= 1.0
