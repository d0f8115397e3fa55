"""Multi-table generators: sequences under context keys, non-context keys, seeds, sizes, keys.

The tables are small and built here with known patterns (which parent gets how many children,
which child values go with which parent values), so that each test can check that a pattern
survives, not just that something came out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import EngineInputError, TrainedGenerator, train_generator
from synth_dagster.engine.sequence import rising_columns

FAST: dict[str, Any] = {"model": "MOSTLY_AI/Small", "max_epochs": 25}


def _train(
    tmp_path: Path, tables: list[dict[str, Any]], frames: dict[str, pd.DataFrame], seed: int = 1
) -> TrainedGenerator:
    config = GeneratorConfig.model_validate({"name": "t", "random_state": seed, "tables": tables})
    workspace = tmp_path / f"ws-{seed}"
    train_generator(config, frames, workspace)
    return TrainedGenerator(workspace)


def _parents_and_children(model: dict[str, Any]) -> list[dict[str, Any]]:
    """parents (primary key id) and children in sequences under them (context key pid)."""
    return [
        {"name": "parents", "primary_key": "id", "tabular_model_configuration": model},
        {
            "name": "children",
            "foreign_keys": [{"column": "pid", "referenced_table": "parents", "is_context": True}],
            "tabular_model_configuration": model,
        },
    ]


def _sizes(sizes: dict[str, int], random_state: int = 5) -> dict[str, Any]:
    return {
        "random_state": random_state,
        "tables": [{"name": n, "configuration": {"sample_size": s}} for n, s in sizes.items()],
    }


def _customers_and_purchases(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segment A customers buy rarely (0-2 times, zero often), B customers 5-8 times; dates only go
    forward within a customer; B buys larger amounts; the amount grows along a sequence."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(
        {"customer_id": [f"C{i:04d}" for i in range(n)], "segment": rng.choice(["A", "B"], n)}
    )
    rows = []
    for cid, segment in zip(customers.customer_id, customers.segment, strict=True):
        count = rng.integers(0, 3) if segment == "A" else rng.integers(5, 9)
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 30)))
        for k in range(count):
            day = day + pd.Timedelta(days=int(rng.integers(1, 20)))
            base = 100 if segment == "B" else 10
            rows.append({"customer_id": cid, "date": day, "amount": float(base + 5 * k + rng.normal(0, 1))})
    return customers, pd.DataFrame(rows)


PURCHASE_TABLES = [
    {"name": "customers", "primary_key": "customer_id", "tabular_model_configuration": FAST},
    {
        "name": "purchases",
        "foreign_keys": [{"column": "customer_id", "referenced_table": "customers", "is_context": True}],
        "tabular_model_configuration": FAST,
        "columns": [
            {"name": "customer_id"},
            {"name": "date", "model_encoding_type": "TABULAR_DATETIME_RELATIVE"},
            {"name": "amount"},
        ],
    },
]


@pytest.fixture(scope="module")
def purchases_generator(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[TrainedGenerator, pd.DataFrame, pd.DataFrame]:
    customers, purchases = _customers_and_purchases()
    generator = _train(
        tmp_path_factory.mktemp("seq"), PURCHASE_TABLES, {"customers": customers, "purchases": purchases}
    )
    return generator, customers, purchases


def test_sequences_keep_lengths_keys_and_order(purchases_generator) -> None:
    generator, customers, purchases = purchases_generator
    out = generator.generate(_sizes({"customers": 400}))
    syn_customers, syn_purchases = out["customers"], out["purchases"]
    assert len(syn_customers) == 400
    assert syn_customers.customer_id.is_unique
    assert syn_customers.customer_id.str.fullmatch(r"C\d{4,}").all()  # the source's key pattern
    assert syn_purchases.customer_id.isin(syn_customers.customer_id).all()  # referential integrity
    assert list(syn_purchases.columns) == list(purchases.columns)
    lengths = syn_purchases.groupby("customer_id").size().reindex(syn_customers.customer_id, fill_value=0)
    segment = syn_customers.set_index("customer_id").segment
    # zero-length sequences are learned (segment A), and B customers have long sequences
    assert (lengths[segment == "A"] == 0).mean() > 0.15
    assert lengths[segment == "B"].mean() > 4 * max(lengths[segment == "A"].mean(), 0.25)
    # parent -> child pattern: B customers buy much more
    joined = syn_purchases.join(segment, on="customer_id")
    by_segment = joined.groupby("segment").amount.median()
    assert by_segment["B"] > 3 * by_segment["A"]
    # TABULAR_DATETIME_RELATIVE: dates are datetimes, and go forward within every sequence
    assert pd.api.types.is_datetime64_any_dtype(syn_purchases.date)
    assert syn_purchases.groupby("customer_id").date.apply(lambda d: d.is_monotonic_increasing).all()
    span = syn_purchases.date.max() - syn_purchases.date.min()
    assert span < (purchases.date.max() - purchases.date.min()) * 2


def test_history_within_a_sequence_survives(purchases_generator) -> None:
    """The amount grows along a sequence: later purchases of B customers are larger than their first."""
    generator, _, _ = purchases_generator
    purchases = generator.generate(_sizes({"customers": 400}))["purchases"]
    position = purchases.groupby("customer_id").cumcount()
    long = purchases.groupby("customer_id").customer_id.transform("size") >= 5
    first = purchases.amount[long & (position == 0)].mean()
    fifth = purchases.amount[long & (position == 4)].mean()
    assert fifth - first > 10  # +5 per row in training: +20 by the fifth row


def test_generation_is_reproducible_with_random_state(purchases_generator) -> None:
    generator, _, _ = purchases_generator
    first = generator.generate(_sizes({"customers": 50}, random_state=3))
    again = generator.generate(_sizes({"customers": 50}, random_state=3))
    other = generator.generate(_sizes({"customers": 50}, random_state=4))
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["purchases"].equals(other["purchases"])


def test_training_is_reproducible_with_random_state(tmp_path: Path) -> None:
    customers, purchases = _customers_and_purchases(60)
    tables = [
        dict(t, tabular_model_configuration={"model": "MOSTLY_AI/Small", "max_epochs": 2})
        for t in PURCHASE_TABLES
    ]
    frames = {"customers": customers, "purchases": purchases}
    one = _train(tmp_path / "a", tables, frames).generate(_sizes({"customers": 30}))
    two = _train(tmp_path / "b", tables, frames).generate(_sizes({"customers": 30}))
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])


def test_multi_table_seed_continues_sequences(purchases_generator) -> None:
    """The reference's "100 simulations": 100 seeded customers, each with the same first 2 purchases."""
    generator, _, _ = purchases_generator
    ids = [f"sim-{i:03d}" for i in range(100)]
    seed_customers = pd.DataFrame({"customer_id": ids, "segment": ["B"] * 100})
    seed_purchases = pd.DataFrame(
        {
            "customer_id": [i for i in ids for _ in range(2)],
            "date": pd.to_datetime(["2024-02-01", "2024-02-09"] * 100),
            "amount": [101.0, 106.0] * 100,
        }
    )
    out = generator.generate(
        {
            "random_state": 1,
            "tables": [
                {"name": "customers", "configuration": {"sample_seed_data": seed_customers}},
                {"name": "purchases", "configuration": {"sample_seed_data": seed_purchases}},
            ],
        }
    )
    customers, purchases = out["customers"], out["purchases"]
    assert customers.customer_id.tolist() == ids
    assert (customers.segment == "B").all()
    assert set(purchases.customer_id) == set(ids)
    heads = purchases.groupby("customer_id").head(2).reset_index(drop=True)
    pd.testing.assert_frame_equal(heads, seed_purchases, check_dtype=False)
    lengths = purchases.groupby("customer_id").size()
    assert (lengths >= 2).all() and (lengths > 2).mean() > 0.5  # B customers go on buying
    tails = purchases[purchases.groupby("customer_id").cumcount() >= 2]
    assert (tails.date >= pd.Timestamp("2024-02-09")).all()  # continued after the seeded dates


def _careers(n: int = 240, seed: int = 3) -> dict[str, pd.DataFrame]:
    """Careers of 6-12 seasons: the year rises by 1 (sometimes 0: a second club the same season,
    sometimes 2), and games depend on the era (about 150 from 1980 on, about 90 before)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        year = int(rng.integers(1950, 2005))
        for k in range(int(rng.integers(6, 13))):
            if k:
                year += int(rng.choice([0, 1, 1, 1, 1, 1, 2]))
            games = (150 if year >= 1980 else 90) + int(rng.integers(-10, 11))
            rows.append({"pid": f"P{i:03d}", "year": year, "games": games})
    children = pd.DataFrame(rows)
    return {"parents": pd.DataFrame({"id": [f"P{i:03d}" for i in range(n)]}), "children": children}


def test_rising_columns_are_found_in_training_sequences() -> None:
    """Numbers that never fall within a sequence (and rise in one) are rising; nothing else is."""
    frame = pd.DataFrame(
        {
            "year": [2000, 2001, 2001, 1990, 1992],
            "falls": [5, 4, 6, 1, 2],
            "flat": [1, 1, 1, 1, 1],
            "holes": [1.0, None, 3.0, 1.0, 2.0],
            "flag": [False, True, True, False, True],
            "text": ["a", "b", "c", "d", "e"],
            "chosen": [1, 2, 3, 1, 2],
            "bounded": [1, 2, 3, 1, 2],
            "__seqlen__x": [1, 2, 3, 4, 5],
        }
    )
    parent_of_row = np.array([0, 0, 0, 1, 1])
    found = rising_columns(frame, parent_of_row, {"chosen": "TABULAR_NUMERIC_BINNED"}, excluded={"bounded"})
    assert found == {"year": "int64"}
    # one row per sequence: nothing can rise
    assert rising_columns(frame.iloc[[0, 3]], np.array([0, 1]), {}) == {}


def test_rising_numbers_never_go_back_and_stay_visible_to_other_columns(tmp_path: Path) -> None:
    """A career's year is learned as its first value plus gaps, so that no generated season goes
    back in time (as absolute values, 15% did on plyr/baseball); the other columns still see the
    absolute year (the era decides the games), value protection still bounds the years, and
    seeded seasons are continued from."""
    frames = _careers()
    generator = _train(tmp_path, _parents_and_children(FAST), frames)
    assert generator.model("children").rising == {"year": "int64"}
    children = generator.generate(_sizes({"parents": 240}))["children"]
    assert children.year.dtype == frames["children"].year.dtype
    steps = children.groupby("pid").year.diff().dropna()
    assert (steps >= 0).all()
    assert steps.isin([0, 1, 2]).mean() > 0.95
    assert children.year.min() < 1960 and children.year.max() > 2000
    # value protection: accumulated years stay within the 5th most extreme careers' years
    by_career = frames["children"].groupby("pid").year
    lowest, highest = np.sort(by_career.min())[4], np.sort(by_career.max())[-5]
    assert lowest <= children.year.min() and children.year.max() <= highest
    modern = children.year >= 1982
    early = children.year <= 1977
    assert children.games[modern].mean() > children.games[early].mean() + 30
    # seeds: the seeded seasons come back as they are, and the career goes on from the last one
    seed_parents = pd.DataFrame({"id": ["S1", "S2"]})
    seed_children = pd.DataFrame(
        {"pid": ["S1", "S1", "S2"], "year": [1985, 1986, 1960], "games": [150, 148, 90]}
    )
    out = generator.generate(
        {
            "random_state": 2,
            "tables": [
                {"name": "parents", "configuration": {"sample_seed_data": seed_parents}},
                {"name": "children", "configuration": {"sample_seed_data": seed_children}},
            ],
        }
    )["children"]
    first = out.groupby("pid").head(2).set_index("pid")
    assert first.loc["S1"].year.tolist() == [1985, 1986]
    s1 = out[out.pid == "S1"].year.to_numpy()
    s2 = out[out.pid == "S2"].year.to_numpy()
    assert s2[0] == 1960
    assert (np.diff(s1) >= 0).all() and (np.diff(s2) >= 0).all()


def test_seed_rows_must_match_a_seeded_parent(purchases_generator) -> None:
    generator, _, _ = purchases_generator
    config = {
        "tables": [
            {
                "name": "customers",
                "configuration": {"sample_seed_data": pd.DataFrame({"customer_id": ["x"]})},
            },
            {
                "name": "purchases",
                "configuration": {"sample_seed_data": pd.DataFrame({"customer_id": ["y"], "amount": [1.0]})},
            },
        ]
    }
    with pytest.raises(EngineInputError, match=r"keys \['y'\] that are not in the seed of 'customers'"):
        generator.generate(config)


def test_very_long_sequences_with_a_window(tmp_path: Path) -> None:
    """Sequences of 60-90 rows, trained on windows of 12: generation runs past the window, and the
    counter column keeps counting (history carries over positions the window never saw at once)."""
    rng = np.random.default_rng(2)
    parents = pd.DataFrame({"id": np.arange(40), "kind": rng.choice(["short", "long"], 40)})
    rows = []
    for pid, kind in zip(parents.id, parents.kind, strict=True):
        for k in range(int(rng.integers(60, 90)) if kind == "long" else int(rng.integers(1, 4))):
            rows.append({"pid": pid, "step": k, "flag": "x" if k % 2 else "y"})
    children = pd.DataFrame(rows)
    config = {
        "model": "MOSTLY_AI/Small",
        "max_epochs": 30,
        "max_sequence_window": 12,
        "value_protection": False,
    }
    generator = _train(
        tmp_path,
        _parents_and_children(config),
        {"parents": parents, "children": children},
    )
    out = generator.generate(_sizes({"parents": 40}))
    lengths = out["children"].groupby("pid").size()
    assert lengths.max() >= 50
    assert out["children"].pid.isin(out["parents"].id).all()
    longest = out["children"][out["children"].pid == lengths.idxmax()]
    # alternating flags: the learned history keeps them alternating far beyond the window
    alternation = (longest.flag.to_numpy()[1:] != longest.flag.to_numpy()[:-1]).mean()
    assert alternation > 0.8


def _three_levels(n: int = 120, seed: int = 4) -> dict[str, pd.DataFrame]:
    """country of the customer (grandparent) decides the price of an order's items (grandchild)."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame({"cid": np.arange(n), "country": rng.choice(["AT", "US"], n)})
    orders, items = [], []
    for cid, country in zip(customers.cid, customers.country, strict=True):
        for _ in range(int(rng.integers(1, 4))):
            oid = len(orders)
            orders.append({"oid": oid, "cid": cid, "channel": rng.choice(["web", "shop"])})
            for _ in range(int(rng.integers(1, 4))):
                price = rng.normal(200 if country == "US" else 20, 5)
                items.append({"oid": oid, "price": float(price)})
    return {"customers": customers, "orders": pd.DataFrame(orders), "items": pd.DataFrame(items)}


def test_three_level_chain(tmp_path: Path) -> None:
    frames = _three_levels()
    generator = _train(
        tmp_path,
        [
            {"name": "customers", "primary_key": "cid", "tabular_model_configuration": FAST},
            {
                "name": "orders",
                "primary_key": "oid",
                "foreign_keys": [{"column": "cid", "referenced_table": "customers", "is_context": True}],
                "tabular_model_configuration": FAST,
            },
            {
                "name": "items",
                "foreign_keys": [{"column": "oid", "referenced_table": "orders", "is_context": True}],
                "tabular_model_configuration": FAST,
            },
        ],
        frames,
    )
    out = generator.generate(_sizes({"customers": 150}))
    customers, orders, items = out["customers"], out["orders"], out["items"]
    assert customers.cid.is_unique and orders.oid.is_unique
    assert orders.cid.isin(customers.cid).all() and items.oid.isin(orders.oid).all()
    assert pd.api.types.is_integer_dtype(orders.oid) and pd.api.types.is_integer_dtype(items.oid)
    joined = items.merge(orders, on="oid").merge(customers, on="cid")
    medians = joined.groupby("country").price.median()
    assert medians["US"] > 5 * medians["AT"]  # the grandparent's column reaches the grandchild


def test_two_children_under_one_parent(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    players = pd.DataFrame({"id": [f"p{i}" for i in range(150)], "pro": rng.choice([True, False], 150)})
    batting, fielding = [], []
    for pid, pro in zip(players.id, players.pro, strict=True):
        for year in range(int(rng.integers(4, 7)) if pro else 1):
            batting.append({"pid": pid, "year": 2000 + year, "hits": int(rng.integers(50, 60) if pro else 2)})
        for _ in range(2 if pro else 1):
            fielding.append({"player": pid, "pos": "P" if pro else "OF"})
    generator = _train(
        tmp_path,
        [
            {"name": "players", "primary_key": "id", "tabular_model_configuration": FAST},
            {
                "name": "batting",
                "foreign_keys": [{"column": "pid", "referenced_table": "players", "is_context": True}],
                "tabular_model_configuration": FAST,
            },
            {
                "name": "fielding",
                "foreign_keys": [{"column": "player", "referenced_table": "players", "is_context": True}],
                "tabular_model_configuration": FAST,
            },
        ],
        {"players": players, "batting": pd.DataFrame(batting), "fielding": pd.DataFrame(fielding)},
    )
    out = generator.generate(_sizes({"players": 200}))
    players_out = out["players"].set_index("id")
    assert out["batting"].pid.isin(players_out.index).all()
    assert out["fielding"].player.isin(players_out.index).all()
    batting_len = out["batting"].groupby("pid").size().reindex(players_out.index, fill_value=0)
    fielding_pos = out["fielding"].join(players_out.pro, on="player")
    assert batting_len[players_out.pro].mean() > 3 * batting_len[~players_out.pro].mean()
    assert (fielding_pos[fielding_pos.pro].pos == "P").mean() > 0.85
    assert (fielding_pos[~fielding_pos.pro].pos == "OF").mean() > 0.85


def _accounts_and_transfers(seed: int = 6) -> dict[str, pd.DataFrame]:
    """Transfers reference a sender account (30% empty) and a receiver account; the amount follows
    the sender's tier, the receiver is always a 'shop' account."""
    rng = np.random.default_rng(seed)
    n = 80
    accounts = pd.DataFrame(
        {
            "account_id": np.arange(1000, 1000 + n),
            "tier": rng.choice(["gold", "basic", "shop"], n, p=[0.3, 0.4, 0.3]),
        }
    )
    senders = accounts[accounts.tier != "shop"]
    shops = accounts[accounts.tier == "shop"].account_id.to_numpy()
    rows = []
    for _ in range(2500):
        sender = senders.iloc[int(rng.integers(0, len(senders)))]
        empty = rng.random() < 0.3
        rows.append(
            {
                "transfer_id": f"T-{len(rows):05d}",
                "sender": np.nan if empty else sender.account_id,
                "receiver": int(rng.choice(shops)),
                "amount": float(rng.normal(500 if sender.tier == "gold" and not empty else 50, 10)),
            }
        )
    return {"accounts": accounts, "transfers": pd.DataFrame(rows)}


def test_non_context_keys_with_nulls(tmp_path: Path) -> None:
    frames = _accounts_and_transfers()
    generator = _train(
        tmp_path,
        [
            {"name": "accounts", "primary_key": "account_id", "tabular_model_configuration": FAST},
            {
                "name": "transfers",
                "primary_key": "transfer_id",
                "foreign_keys": [
                    {"column": "sender", "referenced_table": "accounts", "is_context": False},
                    {"column": "receiver", "referenced_table": "accounts", "is_context": False},
                ],
                "tabular_model_configuration": FAST,
            },
        ],
        frames,
    )
    out = generator.generate(_sizes({"accounts": 100, "transfers": 3000}))
    accounts, transfers = out["accounts"].set_index("account_id"), out["transfers"]
    assert len(transfers) == 3000 and transfers.transfer_id.is_unique
    assert transfers.transfer_id.str.fullmatch(r"T-\d{5,}").all()
    assert transfers.sender.dtype == frames["transfers"].sender.dtype  # float: ints with NaN
    assert 0.2 < transfers.sender.isna().mean() < 0.4
    assert transfers.sender.dropna().isin(accounts.index).all()
    assert transfers.receiver.isin(accounts.index).all()
    # child <-> parent patterns through each key
    assert (accounts.tier.reindex(transfers.receiver) == "shop").mean() > 0.9
    linked = transfers.dropna(subset=["sender"])
    sender_tier = accounts.tier.reindex(linked.sender).to_numpy()
    assert (sender_tier != "shop").mean() > 0.9
    gold = linked.amount.to_numpy()[sender_tier == "gold"]
    basic = linked.amount.to_numpy()[sender_tier == "basic"]
    assert np.median(gold) > 4 * np.median(basic)


def test_sizes_per_subject_table(tmp_path: Path) -> None:
    frames = _accounts_and_transfers()
    frames["transfers"] = frames["transfers"].head(400)
    tables = [
        {
            "name": "accounts",
            "primary_key": "account_id",
            "tabular_model_configuration": {"model": "MOSTLY_AI/Small", "max_epochs": 2},
        },
        {
            "name": "transfers",
            "foreign_keys": [{"column": "receiver", "referenced_table": "accounts", "is_context": False}],
            "tabular_model_configuration": {"model": "MOSTLY_AI/Small", "max_epochs": 2},
        },
    ]
    generator = _train(
        tmp_path,
        tables,
        {"accounts": frames["accounts"], "transfers": frames["transfers"].drop(columns="sender")},
    )
    out = generator.generate(_sizes({"accounts": 17, "transfers": 333}))
    assert (len(out["accounts"]), len(out["transfers"])) == (17, 333)
    assert out["transfers"].receiver.isin(out["accounts"].account_id).all()
    default = generator.generate({"random_state": 1})
    assert (len(default["accounts"]), len(default["transfers"])) == (80, 400)  # the training sizes
    probe = generator.generate(None, is_probe=True)
    assert (len(probe["accounts"]), len(probe["transfers"])) == (1, 1)


# ------------------------------------------------------------------------ validation
def _config(tables: list[dict[str, Any]]) -> GeneratorConfig:
    return GeneratorConfig.model_validate({"name": "t", "tables": tables})


def test_circular_context_relations_are_rejected() -> None:
    with pytest.raises(ValueError, match="context foreign keys form a cycle: a -> b -> a"):
        _config(
            [
                {
                    "name": "a",
                    "primary_key": "id",
                    "foreign_keys": [{"column": "b_id", "referenced_table": "b", "is_context": True}],
                },
                {
                    "name": "b",
                    "primary_key": "id",
                    "foreign_keys": [{"column": "a_id", "referenced_table": "a", "is_context": True}],
                },
            ]
        )


def test_two_context_keys_in_one_table_are_rejected() -> None:
    with pytest.raises(ValueError, match="at most one context foreign key"):
        _config(
            [
                {"name": "a", "primary_key": "id"},
                {
                    "name": "c",
                    "foreign_keys": [
                        {"column": "x", "referenced_table": "a", "is_context": True},
                        {"column": "y", "referenced_table": "a", "is_context": True},
                    ],
                },
            ]
        )


def _two_tables(fk: dict[str, Any]) -> GeneratorConfig:
    return _config(
        [
            {"name": "parent", "primary_key": "id"},
            {"name": "child", "foreign_keys": [{"referenced_table": "parent", **fk}]},
        ]
    )


def test_key_dtype_mismatch_is_rejected(tmp_path: Path) -> None:
    parent = pd.DataFrame({"id": [1, 2, 3], "v": ["a", "b", "c"]})
    child = pd.DataFrame({"pid": ["1", "2", "2"], "w": [1.0, 2.0, 3.0]})
    config = _two_tables({"column": "pid", "is_context": True})
    with pytest.raises(
        EngineInputError, match=r"foreign key 'pid' holds string values .* references holds int values"
    ):
        train_generator(config, {"parent": parent, "child": child}, tmp_path / "ws")


def test_orphan_keys_are_reported_then_dropped_or_kept(tmp_path: Path) -> None:
    parent = pd.DataFrame({"id": np.arange(30), "v": ["a", "b", "c"] * 10})
    child = pd.DataFrame({"pid": [*range(30), 97, 98, 99] * 3, "w": np.arange(99, dtype=float)})
    frames = {"parent": parent, "child": child}
    with pytest.raises(
        EngineInputError,
        match=r"9 of 99 rows have a key that matches no row of 'parent' \(e\.g\. 97, 98, 99\)",
    ):
        train_generator(_two_tables({"column": "pid", "is_context": False}), frames, tmp_path / "a")
    assert not (tmp_path / "a").exists()  # nothing half-written
    quick = {"model": "MOSTLY_AI/Small", "max_epochs": 1}
    for handling, expected_rows in (("DROP", 90), ("KEEP", 99)):
        config = _config(
            [
                {"name": "parent", "primary_key": "id", "tabular_model_configuration": quick},
                {
                    "name": "child",
                    "foreign_keys": [
                        {
                            "column": "pid",
                            "referenced_table": "parent",
                            "is_context": False,
                            "orphan_handling": handling,
                        }
                    ],
                    "tabular_model_configuration": quick,
                },
            ]
        )
        messages: list[str] = []
        summaries = train_generator(
            config, frames, tmp_path / handling, on_progress=lambda p, seen=messages: seen.append(p.message)
        )
        assert summaries["child"].training_rows + summaries["child"].holdout_rows == expected_rows
        assert any("9 rows whose key matches no parent row" in m for m in messages)
        out = TrainedGenerator(tmp_path / handling).generate(_sizes({"parent": 30, "child": 400}))
        linked = out["child"].pid.dropna()
        assert linked.isin(out["parent"].id).all()
        if handling == "KEEP":
            assert 0.02 < out["child"].pid.isna().mean() < 0.25  # kept rows have an empty key (9 in 99)
        else:
            assert out["child"].pid.notna().all()
    # the orphans of a context key are its rows without a parent: dropped, or an error
    with pytest.raises(ValueError, match="orphan_handling='KEEP' applies to non-context keys only"):
        _two_tables({"column": "pid", "is_context": True, "orphan_handling": "KEEP"})


def test_self_reference_is_rejected_with_a_clear_message(tmp_path: Path) -> None:
    staff = pd.DataFrame({"id": [1, 2, 3], "boss": [np.nan, 1, 1]})
    config = _config(
        [
            {
                "name": "staff",
                "primary_key": "id",
                "foreign_keys": [{"column": "boss", "referenced_table": "staff", "is_context": False}],
            }
        ]
    )
    with pytest.raises(EngineInputError, match="references its own table; self-references are not supported"):
        train_generator(config, {"staff": staff}, tmp_path / "ws")


def test_cycle_of_non_context_keys_is_rejected(tmp_path: Path) -> None:
    a = pd.DataFrame({"id": [1, 2], "b": [1, 2]})
    b = pd.DataFrame({"id": [1, 2], "a": [1, 2]})
    config = _config(
        [
            {
                "name": "a",
                "primary_key": "id",
                "foreign_keys": [{"column": "b", "referenced_table": "b", "is_context": False}],
            },
            {
                "name": "b",
                "primary_key": "id",
                "foreign_keys": [{"column": "a", "referenced_table": "a", "is_context": False}],
            },
        ]
    )
    with pytest.raises(EngineInputError, match="foreign keys form a cycle: a -> b -> a"):
        train_generator(config, {"a": a, "b": b}, tmp_path / "ws")


def test_duplicated_referenced_primary_key_is_rejected(tmp_path: Path) -> None:
    parent = pd.DataFrame({"id": [1, 1, 2], "v": ["a", "b", "c"]})
    child = pd.DataFrame({"pid": [1, 2], "w": [1.0, 2.0]})
    with pytest.raises(EngineInputError, match=r"primary key 'id' has 1 duplicated values \(e\.g\. 1\)"):
        train_generator(
            _two_tables({"column": "pid", "is_context": True}),
            {"parent": parent, "child": child},
            tmp_path / "ws",
        )


def test_sequence_tables_refuse_subject_only_settings(purchases_generator) -> None:
    generator, _, _ = purchases_generator
    with pytest.raises(EngineInputError, match="sample_size applies to subject tables only"):
        generator.generate({"tables": [{"name": "purchases", "configuration": {"sample_size": 5}}]})


def test_value_protection_covers_sequence_lengths(tmp_path: Path) -> None:
    """One parent with 150 children is an outlier that would identify it: with value protection,
    generated sequences stay within the protected range of lengths (here at most 4 rows)."""
    rng = np.random.default_rng(8)
    parents = pd.DataFrame({"id": np.arange(60), "k": rng.choice(["a", "b"], 60)})
    lengths = [150, *rng.integers(1, 5, 59)]
    children = pd.DataFrame(
        {"pid": np.repeat(parents.id, lengths), "v": rng.normal(0, 1, int(np.sum(lengths)))}
    )
    quick = {"model": "MOSTLY_AI/Small", "max_epochs": 3}
    generator = _train(
        tmp_path,
        _parents_and_children(quick),
        {"parents": parents, "children": children},
    )
    out = generator.generate(_sizes({"parents": 300}))
    generated = out["children"].groupby("pid").size()
    assert generated.max() <= 4
    assert len(generated) > 200  # sequences are still generated for most parents


def test_value_protection_in_a_sequence_table_counts_parents(tmp_path: Path) -> None:
    """A team only one player played for, in twelve seasons, and a record held by one player
    over twelve seasons, identify that player: counted by parent they are rare, so neither
    comes back, while values shared by many players do."""
    rng = np.random.default_rng(3)
    parents = pd.DataFrame({"id": np.arange(80)})
    lengths = np.r_[12, rng.integers(3, 6, 79)]
    pid = np.repeat(parents.id, lengths).to_numpy()
    team = rng.choice(["red", "blue", "green"], len(pid)).astype(object)
    score = rng.normal(50.0, 5.0, len(pid))
    team[pid == 0], score[pid == 0] = "one player's club", 500.0
    children = pd.DataFrame({"pid": pid, "team": team, "score": score})
    quick = {"model": "MOSTLY_AI/Small", "max_epochs": 3}
    generator = _train(tmp_path, _parents_and_children(quick), {"parents": parents, "children": children})
    out = generator.generate(_sizes({"parents": 200}))["children"]
    assert "one player's club" not in set(out.team)
    assert out.score.max() < 100.0  # the range ends at the 5th highest player, not row
    assert {"red", "blue", "green"} <= set(out.team)


@pytest.mark.parametrize(
    ("source", "pattern"),
    [
        (["ABQ", "ATL", "EWR"], r"[A-Z]{3}"),  # airport codes: letters of one width
        (["C0001", "C0002", "C0010"], r"C\d{4,}"),  # prefix and zero-padded digits
        ([7, 11, 12], None),  # integers
    ],
)
def test_generated_primary_keys_keep_dtype_and_pattern(source: list[Any], pattern: str | None) -> None:
    from synth_dagster.engine.keys import analyze_key, generate_keys

    values = pd.Series(source)
    keys = generate_keys(analyze_key(values), 500, np.random.default_rng(0))
    assert keys.is_unique and len(keys) == 500
    assert keys.dtype == values.dtype
    if pattern is not None:
        assert keys.astype(str).str.fullmatch(pattern).all()


def test_lookup_tables_are_kept_as_they_are(tmp_path: Path) -> None:
    """A public lookup table (is_lookup) comes back unchanged; child rows point at its real rows,
    the ones that fit them."""
    rng = np.random.default_rng(9)
    airports = pd.DataFrame(
        {
            "code": ["EWR", "JFK", "LGA", "BOS", "ORD", "SFO"],
            "tz": [-5, -5, -5, -5, -6, -8],
            "hub": [1, 1, 1, 0, 0, 0],
        }
    )
    origin = rng.choice(["EWR", "JFK", "LGA"], 1500)
    dest = rng.choice(["BOS", "ORD", "SFO"], 1500)
    distance = pd.Series(dest).map({"BOS": 200.0, "ORD": 700.0, "SFO": 2500.0}).to_numpy() + rng.normal(
        0, 10, 1500
    )
    flights = pd.DataFrame({"origin": origin, "dest": dest, "distance": distance})
    generator = _train(
        tmp_path,
        [
            {"name": "airports", "primary_key": "code", "is_lookup": True},
            {
                "name": "flights",
                "foreign_keys": [
                    {"column": "origin", "referenced_table": "airports", "is_context": False},
                    {"column": "dest", "referenced_table": "airports", "is_context": False},
                ],
                "tabular_model_configuration": FAST,
            },
        ],
        {"airports": airports, "flights": flights},
    )
    assert generator.summaries["airports"].stop_reason == "lookup_table"
    out = generator.generate(_sizes({"flights": 2000}))
    pd.testing.assert_frame_equal(out["airports"], airports)
    assert len(out["flights"]) == 2000
    assert out["flights"].origin.isin(["EWR", "JFK", "LGA"]).mean() > 0.95  # the hubs, as in training
    by_dest = out["flights"].groupby("dest").distance.median()
    assert by_dest["SFO"] > by_dest["ORD"] > by_dest["BOS"]  # the matcher picks the fitting row
    with pytest.raises(EngineInputError, match="is a lookup table, kept as it is"):
        generator.generate(_sizes({"airports": 3}))


def test_keys_into_a_lookup_table_are_learned_with_the_child_columns(tmp_path: Path) -> None:
    """A key into a lookup table is learned as a column of the child: a child column that only the
    key explains (flight numbers by carrier) keeps that link; the keys keep their frequencies; empty
    keys keep their rate; a key too rare for value protection (ZZ, 3 flights) still gets a real
    parent from the matcher; a seeded key conditions the rest of its row."""
    rng = np.random.default_rng(4)
    airlines = pd.DataFrame({"carrier": ["AA", "DL", "UA", "ZZ"], "name": ["Amer", "Delta", "United", "Zed"]})
    n = 2000
    carrier = np.concatenate([rng.choice(["AA", "DL", "UA"], n - 3, p=[0.6, 0.3, 0.1]), ["ZZ"] * 3])
    base = pd.Series(carrier).map({"AA": 100, "DL": 2000, "UA": 5000, "ZZ": 9000}).to_numpy()
    flights = pd.DataFrame(
        {
            "carrier": pd.Series(carrier, dtype=object).where(rng.random(n) > 0.2, None),
            "flight": base + rng.integers(0, 50, n),
        }
    )
    generator = _train(
        tmp_path,
        [
            {"name": "airlines", "primary_key": "carrier", "is_lookup": True},
            {
                "name": "flights",
                "foreign_keys": [{"column": "carrier", "referenced_table": "airlines", "is_context": False}],
                "tabular_model_configuration": FAST,
            },
        ],
        {"airlines": airlines, "flights": flights},
    )
    out = generator.generate(_sizes({"flights": 3000}))["flights"]
    assert set(out.columns) == {"carrier", "flight"}  # no helper column leaks out
    assert abs(out.carrier.isna().mean() - flights.carrier.isna().mean()) < 0.05
    known = out.dropna(subset=["carrier"])
    assert known.carrier.isin(airlines.carrier).all()  # rare tokens were given real parents
    start = known.carrier.map({"AA": 100, "DL": 2000, "UA": 5000, "ZZ": 0})
    fits = (known.flight >= start) & (known.flight < start + 50)
    assert fits[known.carrier != "ZZ"].mean() > 0.9
    shares = known.carrier.value_counts(normalize=True)
    real_shares = flights.carrier.dropna().value_counts(normalize=True)
    assert (shares.reindex(real_shares.index, fill_value=0) - real_shares).abs().max() < 0.05
    seed = pd.DataFrame({"carrier": ["UA"] * 50})
    seeded = generator.generate(
        {"random_state": 2, "tables": [{"name": "flights", "configuration": {"sample_seed_data": seed}}]}
    )
    rows = seeded["flights"]
    assert (rows.carrier == "UA").all()
    assert rows.flight.between(5000, 5049).mean() > 0.9


def test_lookup_tables_take_no_context_children_and_no_keys_of_their_own() -> None:
    with pytest.raises(ValueError, match="a lookup table can only be referenced by non-context keys"):
        _config(
            [
                {"name": "parent", "primary_key": "id", "is_lookup": True},
                {
                    "name": "child",
                    "foreign_keys": [{"column": "pid", "referenced_table": "parent", "is_context": True}],
                },
            ]
        )
    with pytest.raises(ValueError, match="cannot have foreign keys of its own"):
        _config(
            [
                {"name": "a", "primary_key": "id"},
                {
                    "name": "b",
                    "primary_key": "id",
                    "is_lookup": True,
                    "foreign_keys": [{"column": "a_id", "referenced_table": "a", "is_context": False}],
                },
            ]
        )
