"""Non-context keys into synthesized tables: child rows are drawn knowing their generated parent.

The child learns its parents' columns with its own; generation matches every child row to the
generated parent it wants, gives the parent profiles many rows want parent rows of their own, and
draws the child rows again seeded with the columns of the parents they got (`engine.parents`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster import qa
from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.matching import RowComparer, closest_rows
from synth_dagster.engine.parents import ParentLink, choose_parents

FAST: dict[str, Any] = {"model": "MOSTLY_AI/Small", "max_epochs": 30}
CITIES = ["Aalen", "Bern", "Chur", "Davos", "Emden", "Fulda", "Gera", "Hof", "Ilm", "Jena", "Kiel", "Lahr"]


def _stores_and_sales(n_sales: int = 3000, seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """12 stores with unique cities; the first (a mall) makes 40% of the sales. A sale's amount
    follows its store's format (mall ~200, street ~40), the flagship adds 100."""
    rng = np.random.default_rng(seed)
    stores = pd.DataFrame(
        {
            "store_id": [f"S{i:02d}" for i in range(len(CITIES))],
            "city": CITIES,
            "format": ["mall"] + list(rng.choice(["mall", "street"], len(CITIES) - 1)),
            "floor": rng.integers(1, 5, len(CITIES)),
        }
    )
    weights = np.r_[0.4, np.full(len(CITIES) - 1, 0.6 / (len(CITIES) - 1))]
    at = rng.choice(len(stores), n_sales, p=weights)
    mall = (stores.format.to_numpy()[at] == "mall").astype(float)
    amount = 40 + 160 * mall + 100 * (at == 0) + rng.normal(0, 5, n_sales)
    sales = pd.DataFrame({"store_id": stores.store_id.to_numpy()[at], "amount": amount.round(2)})
    return stores, sales


def _train(
    tmp_path: Path, stores: pd.DataFrame, sales: pd.DataFrame, store_protection: bool
) -> TrainedGenerator:
    config = GeneratorConfig.model_validate(
        {
            "name": "shops",
            "random_state": 3,
            "tables": [
                {
                    "name": "stores",
                    "primary_key": "store_id",
                    "tabular_model_configuration": {**FAST, "value_protection": store_protection},
                },
                {
                    "name": "sales",
                    "foreign_keys": [
                        {"column": "store_id", "referenced_table": "stores", "is_context": False}
                    ],
                    "tabular_model_configuration": FAST,
                },
            ],
        }
    )
    workspace = tmp_path / "ws"
    train_generator(config, {"stores": stores, "sales": sales}, workspace)
    return TrainedGenerator(workspace)


def _sizes(stores: int, sales: int) -> dict[str, Any]:
    return {
        "random_state": 4,
        "tables": [
            {"name": "stores", "configuration": {"sample_size": stores}},
            {"name": "sales", "configuration": {"sample_size": sales}},
        ],
    }


def test_child_rows_follow_the_generated_parent_they_reference(tmp_path: Path) -> None:
    stores, sales = _stores_and_sales()
    training, holdout = sales.iloc[:2000], sales.iloc[2000:]
    generator = _train(tmp_path, stores, training, store_protection=False)
    out = generator.generate(_sizes(len(stores), 1000))
    syn_stores, syn_sales = out["stores"], out["sales"]
    assert syn_stores.store_id.is_unique
    assert syn_sales.store_id.isin(syn_stores.store_id).all()  # referential integrity
    joined = syn_sales.merge(syn_stores, on="store_id")
    # the flagship is wanted by 40% of the sales: it is a store of the synthetic table, and gets them
    flagship = (joined.city == "Aalen") & (joined.format == "mall")
    assert 0.32 < flagship.mean() < 0.48
    # every sale's amount fits the store it was given
    assert joined.loc[flagship, "amount"].between(270, 330).mean() > 0.9
    others = joined[~flagship]
    assert others.loc[others.format == "mall", "amount"].between(170, 230).mean() > 0.9
    assert others.loc[others.format == "street", "amount"].between(10, 70).mean() > 0.9
    relation = qa.relation_accuracy(
        syn_sales,
        syn_stores,
        training,
        stores,
        holdout,
        stores,
        foreign_key="store_id",
        primary_key="store_id",
    )
    assert relation.bivariate is not None and relation.bivariate_max is not None
    assert relation.bivariate > relation.bivariate_max - 0.05


def test_claimed_parent_rows_respect_the_parent_tables_value_protection(tmp_path: Path) -> None:
    """A city belongs to one store: under the stores' value protection no real city comes back,
    not in the stores table and not through the 40% of sales that want the flagship's."""
    stores, sales = _stores_and_sales()
    generator = _train(tmp_path, stores, sales, store_protection=True)
    out = generator.generate(_sizes(len(stores), 1500))
    assert not out["stores"].city.isin(CITIES).any()
    assert out["sales"].store_id.isin(out["stores"].store_id).all()
    joined = out["sales"].merge(out["stores"], on="store_id")
    mall = joined.format == "mall"
    assert joined.loc[mall, "amount"].median() > 3 * joined.loc[~mall, "amount"].median()


def test_seeded_keys_keep_their_parent_and_draw_the_rest_for_it(tmp_path: Path) -> None:
    stores, sales = _stores_and_sales(n_sales=2000)
    generator = _train(tmp_path, stores, sales, store_protection=False)
    seed_stores = pd.DataFrame(
        {"store_id": ["M1", "T1"], "city": ["Bern", "Chur"], "format": ["mall", "street"]}
    )
    seed_sales = pd.DataFrame({"store_id": ["M1"] * 50 + ["T1"] * 50})
    out = generator.generate(
        {
            "random_state": 1,
            "tables": [
                {"name": "stores", "configuration": {"sample_seed_data": seed_stores}},
                {"name": "sales", "configuration": {"sample_seed_data": seed_sales}},
            ],
        }
    )
    got = out["sales"]
    assert got.store_id.tolist() == seed_sales.store_id.tolist()
    assert got.loc[got.store_id == "M1", "amount"].median() > 150
    assert got.loc[got.store_id == "T1", "amount"].median() < 90


def test_sequence_rows_keep_the_parent_they_drew(tmp_path: Path) -> None:
    """A sequence table is not drawn twice: each row keeps what it drew and gets the generated
    parent nearest to it, so profiles many rows want still get parent rows of their own."""
    stores, sales = _stores_and_sales(n_sales=2400)
    rng = np.random.default_rng(5)
    sales["customer_id"] = rng.integers(0, 200, len(sales))
    sales = sales.sort_values("customer_id", kind="stable").reset_index(drop=True)
    customers = pd.DataFrame({"customer_id": np.sort(sales.customer_id.unique())})
    config = GeneratorConfig.model_validate(
        {
            "name": "visits",
            "random_state": 3,
            "tables": [
                {
                    "name": "stores",
                    "primary_key": "store_id",
                    "tabular_model_configuration": {**FAST, "value_protection": False},
                },
                {"name": "customers", "primary_key": "customer_id", "tabular_model_configuration": FAST},
                {
                    "name": "sales",
                    "foreign_keys": [
                        {"column": "customer_id", "referenced_table": "customers", "is_context": True},
                        {"column": "store_id", "referenced_table": "stores", "is_context": False},
                    ],
                    "tabular_model_configuration": FAST,
                },
            ],
        }
    )
    train_generator(config, {"stores": stores, "customers": customers, "sales": sales}, tmp_path / "ws")
    out = TrainedGenerator(tmp_path / "ws").generate({"random_state": 2})
    assert out["sales"].store_id.isin(out["stores"].store_id).all()
    joined = out["sales"].merge(out["stores"], on="store_id")
    flagship = (joined.city == "Aalen") & (joined.format == "mall")
    assert 0.3 < flagship.mean() < 0.5
    mall = joined.format == "mall"
    assert joined.loc[mall & ~flagship, "amount"].median() > 3 * joined.loc[~mall, "amount"].median()


def _link(parent: pd.DataFrame, given: int, popularity: list[float] | None = None) -> ParentLink:
    n = len(parent)
    return ParentLink(
        key="k",
        parent_table="p",
        columns={f"__parent__k::{c}": c for c in parent.columns},
        parent=parent,
        popularity=np.asarray(popularity if popularity is not None else [0.0] * n),
        linked=np.ones(given, dtype=bool),
        given=np.full(given, -1, dtype=np.int64),
        claimed=np.zeros(n, dtype=bool),
        min_demand=2,
    )


def _wanted(rows: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"__parent__k::kind": [k for k, _ in rows], "__parent__k::size": [s for _, s in rows]}
    )


def test_closest_rows_prefer_equal_rows_then_popular_near_ones() -> None:
    candidates = pd.DataFrame({"kind": ["a", "b", "b", "c"], "size": [1.0, 2.0, 2.1, 9.0]})
    comparer = RowComparer(candidates)
    popularity = np.array([0, 1, 99, 0.0])
    rng = np.random.default_rng(0)
    # equal rows win, however popular a near one is
    equal = pd.DataFrame({"kind": ["a"] * 10 + ["b"] * 10, "size": [1.0] * 10 + [2.0] * 10})
    at = closest_rows(comparer.encode(equal), comparer.encode(candidates), popularity, rng)
    assert (at[:10] == 0).all() and (at[10:] == 1).all()
    # no equal row: rows 1 and 2 are both near a "b" of unknown size, the popular one gets most
    near = pd.DataFrame({"kind": ["b"] * 400, "size": [np.nan] * 400})
    at = closest_rows(comparer.encode(near), comparer.encode(candidates), popularity, rng)
    assert set(at) == {1, 2} and (at == 2).mean() > 0.9


def test_nearest_search_in_a_large_table_looks_at_a_sample_and_finds_equal_rows_anyway() -> None:
    n = 50_000
    rng = np.random.default_rng(1)
    candidates = pd.DataFrame({"kind": rng.choice(list("abcdefgh"), n), "size": rng.normal(size=n)})
    comparer = RowComparer(candidates)
    wanted = candidates.iloc[[7, 49_999, 123]].reset_index(drop=True)
    at = closest_rows(comparer.encode(wanted), comparer.encode(candidates), np.zeros(n), rng)
    assert at.tolist() == [7, 49_999, 123]


def test_wanted_profiles_claim_rows_and_equal_rows_are_kept() -> None:
    parent = pd.DataFrame({"kind": ["a", "b", "x", "y"], "size": [1.0, 5.0, 7.0, 30.0]})
    link = _link(parent, given=11)
    # "b"/5 exists; "c"/6 is wanted 5 times and exists nowhere; "y"/31 only once
    first = _wanted([("b", 5.0)] * 5 + [("c", 6.0)] * 5 + [("y", 31.0)])
    at = choose_parents(first, link, np.random.default_rng(0))
    assert (at[:5] == 1).all()
    assert len(set(at[5:10])) == 1 and at[5] not in (1,)
    claimed_row = int(at[5])
    assert parent.loc[claimed_row, "kind"] == "c" and parent.loc[claimed_row, "size"] == 6.0
    assert claimed_row == 2  # the nearest free row ("x"/7), not the far one
    assert parent.loc[1, "kind"] == "b"  # a wanted equal row is never overwritten
    assert at[10] == 3 and parent.loc[3, "kind"] == "y"  # wanted once: matched, not claimed
    assert link.claimed is not None and link.claimed[[1, 2]].all()


def test_a_small_parent_table_keeps_one_row_per_wanted_profile() -> None:
    parent = pd.DataFrame({"kind": ["a", "a", "q"], "size": [1.0, 1.0, 3.0]})
    link = _link(parent, given=9, popularity=[5.0, 0.0, 0.0])
    first = _wanted([("a", 1.0)] * 3 + [("b", 2.0)] * 3 + [("c", 3.0)] * 3)
    at = choose_parents(first, link, np.random.default_rng(0))
    assert (at[:3] == 0).all()  # the popular one of the two equal rows
    assert sorted(parent.kind) == ["a", "b", "c"]
    assert parent.kind.iloc[at[3]] == "b" and parent.kind.iloc[at[6]] == "c"


def test_seeded_parents_are_kept() -> None:
    parent = pd.DataFrame({"kind": ["a", "b"], "size": [1.0, 2.0]})
    link = _link(parent, given=4)
    link.given[:] = [1, 1, -1, -1]
    at = choose_parents(_wanted([("a", 1.0)] * 4), link, np.random.default_rng(0))
    assert at.tolist() == [1, 1, 0, 0]
