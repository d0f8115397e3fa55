"""Foreign-key relations: child columns against the parent row they reference, and referential integrity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.qa import Context, ModelMetrics, assess, model_report, relation_accuracy
from synth_dagster.qa.relations import PARENT_PREFIX, join_parent

REGIONS = ["north", "south", "east"]
PRICE = {"north": "high", "south": "mid", "east": "low"}


def _accounts_and_orders(
    n_accounts: int, n_orders: int, seed: int, first_id: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts (parent) and orders (child) whose `price` follows the region of the ordering account."""
    rng = np.random.default_rng(seed)
    accounts = pd.DataFrame(
        {
            "id": np.arange(n_accounts) + first_id,
            "region": rng.choice(REGIONS, n_accounts),
            "age": rng.integers(18, 90, n_accounts),
        }
    )
    account_id = rng.choice(accounts["id"].to_numpy(), n_orders)
    region = accounts.set_index("id").loc[account_id, "region"].to_numpy()
    price = np.array([PRICE[r] for r in region], dtype=object)
    noisy = rng.random(n_orders) < 0.1  # not a pure function of the region
    price[noisy] = rng.choice(list(PRICE.values()), noisy.sum())
    orders = pd.DataFrame({"account_id": account_id, "price": price})
    return accounts, orders


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    # Disjoint key ranges: a join can only succeed within one dataset.
    return {
        "training": _accounts_and_orders(1_000, 5_000, 1, 0),
        "holdout": _accounts_and_orders(400, 2_000, 2, 100_000),
        "synthetic": _accounts_and_orders(400, 2_000, 3, 200_000),
    }


def _relation(data, syn_orders: pd.DataFrame | None = None, **kwargs):
    (a_trn, o_trn), (a_hol, o_hol), (a_syn, o_syn) = data["training"], data["holdout"], data["synthetic"]
    return relation_accuracy(
        o_syn if syn_orders is None else syn_orders,
        a_syn,
        o_trn,
        a_trn,
        o_hol,
        a_hol,
        foreign_key="account_id",
        primary_key="id",
        **kwargs,
    )


def test_linked_synthetic_scores_near_holdout_and_shuffled_keys_lower(data) -> None:
    intact = _relation(data, referenced_table="accounts")
    assert intact.n_pairs == 2  # price × region, price × age; keys excluded
    assert intact.referenced_table == "accounts" and intact.referential_integrity == 1.0
    assert intact.bivariate is not None and intact.bivariate_max is not None
    assert intact.bivariate == pytest.approx(intact.bivariate_max, abs=0.03)

    # Same orders, same accounts, but each order now points to a random account: the link is gone.
    _, o_syn = data["synthetic"]
    shuffled = o_syn.assign(account_id=np.random.default_rng(0).permutation(o_syn["account_id"].to_numpy()))
    broken = _relation(data, shuffled)
    assert broken.referential_integrity == 1.0  # every key still finds a parent
    assert broken.bivariate is not None and broken.bivariate < intact.bivariate - 0.1


def test_one_pair_agrees_with_a_direct_pandas_computation(data) -> None:
    (a_trn, o_trn), (a_hol, o_hol), (a_syn, o_syn) = data["training"], data["holdout"], data["synthetic"]
    parents = {
        "training": a_trn[["id", "region"]],
        "holdout": a_hol[["id", "region"]],
        "synthetic": a_syn[["id", "region"]],
    }
    children = {"training": o_trn, "holdout": o_hol, "synthetic": o_syn}
    # No sampling anywhere: no cap, and synthetic and holdout joins of the same size.
    got = relation_accuracy(
        o_syn,
        parents["synthetic"],
        o_trn,
        parents["training"],
        o_hol,
        parents["holdout"],
        foreign_key="account_id",
        primary_key="id",
        max_sample_size=None,
    )
    assert got.n_pairs == 1 and got.synthetic_joined_rows == got.holdout_joined_rows == 2_000

    def cells(name: str) -> pd.Series:
        joined = children[name].merge(parents[name], left_on="account_id", right_on="id", how="inner")
        return (joined["price"] + "|" + joined["region"]).value_counts(normalize=True)

    def one_minus_tvd(a: pd.Series, b: pd.Series) -> float:
        return float(1 - 0.5 * a.sub(b, fill_value=0).abs().sum())

    assert got.bivariate == pytest.approx(one_minus_tvd(cells("training"), cells("synthetic")), abs=1e-12)
    assert got.bivariate_max == pytest.approx(one_minus_tvd(cells("training"), cells("holdout")), abs=1e-12)


def test_integrity_share_counts_dangling_keys_and_ignores_nulls(data) -> None:
    _, o_syn = data["synthetic"]
    orders = o_syn.copy()
    orders["account_id"] = orders["account_id"].astype("Int64")
    orders.loc[:199, "account_id"] = 999_999  # 200 keys that reference no account
    orders.loc[200:299, "account_id"] = pd.NA  # 100 orders without an account
    got = _relation(data, orders)
    assert got.referential_integrity == pytest.approx((2_000 - 300) / (2_000 - 100))
    assert got.synthetic_joined_rows == 2_000 - 300


def test_null_and_dangling_keys_are_left_out_of_the_join(data) -> None:
    (a_trn, o_trn) = data["training"]
    with_gaps = o_trn.copy()
    with_gaps["account_id"] = with_gaps["account_id"].astype("Float64")
    with_gaps.loc[:299, "account_id"] = pd.NA
    with_gaps.loc[300:399, "account_id"] = -1.0
    joined = join_parent(
        with_gaps,
        a_trn,
        foreign_key="account_id",
        primary_key="id",
        child_columns=["price"],
        parent_columns=["region"],
    )
    assert len(joined) == 5_000 - 400
    assert list(joined.columns) == ["price", PARENT_PREFIX + "region"]
    assert joined[PARENT_PREFIX + "region"].notna().all()

    # The same figures as for a training child without those rows.
    (a_hol, o_hol), (a_syn, o_syn) = data["holdout"], data["synthetic"]
    kwargs = {"foreign_key": "account_id", "primary_key": "id"}
    gaps = relation_accuracy(o_syn, a_syn, with_gaps, a_trn, o_hol, a_hol, **kwargs)
    clean = relation_accuracy(o_syn, a_syn, o_trn.iloc[400:], a_trn, o_hol, a_hol, **kwargs)
    assert gaps.training_joined_rows == clean.training_joined_rows == 4_600
    assert gaps.bivariate == pytest.approx(clean.bivariate, abs=1e-12)
    assert gaps.bivariate_max == pytest.approx(clean.bivariate_max, abs=1e-12)


def test_holdout_children_join_the_training_parent_when_no_holdout_parent_is_given(data) -> None:
    (a_trn, o_trn), (a_hol, o_hol), (a_syn, o_syn) = data["training"], data["holdout"], data["synthetic"]
    real_accounts = pd.concat([a_trn, a_hol])
    got = relation_accuracy(
        o_syn, a_syn, o_trn, real_accounts, o_hol, foreign_key="account_id", primary_key="id"
    )
    separate = _relation(data)
    assert got.holdout_joined_rows == 2_000
    # Joining through the whole real table finds the same parent rows as the holdout parent.
    assert got.bivariate_max == pytest.approx(separate.bivariate_max, abs=1e-12)


def test_nothing_joined_or_nothing_to_pair(data) -> None:
    (a_trn, o_trn), (a_syn, o_syn) = data["training"], data["synthetic"]
    orphans = o_syn.assign(account_id=-5)
    none_joined = _relation(data, orphans)
    assert none_joined.referential_integrity == 0.0 and none_joined.synthetic_joined_rows == 0
    assert none_joined.bivariate == 0.0  # shares nothing with the real relation
    assert none_joined.bivariate_max is not None and none_joined.bivariate_max > 0.8

    ids_only = relation_accuracy(
        o_syn, a_syn[["id"]], o_trn, a_trn[["id"]], foreign_key="account_id", primary_key="id"
    )
    assert ids_only.n_pairs == 0 and ids_only.bivariate is None and ids_only.referential_integrity == 1.0


def test_missing_key_column_is_named() -> None:
    child = pd.DataFrame({"account": [1, 2], "x": ["a", "b"]})
    parent = pd.DataFrame({"id": [1, 2], "y": ["c", "d"]})
    with pytest.raises(ValueError, match=r"synthetic_child lacks the column\(s\) \['account_id'\]"):
        relation_accuracy(child, parent, child, parent, foreign_key="account_id", primary_key="id")


def test_relations_validate_in_model_metrics_and_show_in_the_report(data) -> None:
    (_, o_trn), (_, o_hol), (_, o_syn) = data["training"], data["holdout"], data["synthetic"]
    relation = _relation(data, referenced_table="accounts")
    stored = ModelMetrics(relations=[relation]).model_dump(mode="json")
    assert ModelMetrics.model_validate(stored).relations == [relation]

    ev = assess(o_syn[["price"]], o_trn[["price"]], o_hol[["price"]])
    ev.metrics.relations = [relation]
    html = model_report(ev)
    assert 'id="relations"' in html and 'href="#relations"' in html
    section = html[html.index('id="relations"') :]
    assert "account_id" in section and "accounts" in section
    assert f"{relation.bivariate:.1%}" in section and f"{relation.bivariate_max:.1%}" in section
    assert "2,000 / 5,000 / 2,000" in section  # joined rows: synthetic / training / holdout
    assert 'id="relations"' not in model_report(assess(o_syn[["price"]], o_trn[["price"]]))


# ------------------------------------------------------------- a context table that holds only its key
def _players_and_seasons(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Players with nothing but an id (as in a baseball players table) and their seasons."""
    rng = np.random.default_rng(seed)
    players = pd.DataFrame({"id": np.arange(n) + seed * 10_000})
    lengths = rng.integers(1, 6, n)
    seasons = pd.DataFrame(
        {
            "player_id": np.repeat(players["id"].to_numpy(), lengths),
            "hits": rng.poisson(80, lengths.sum()),
            "team": rng.choice(["a", "b", "c"], lengths.sum()),
        }
    )
    return players, seasons


def test_context_without_non_key_columns_is_a_plain_sequence() -> None:
    (p_trn, s_trn), (p_hol, s_hol), (p_syn, s_syn) = (_players_and_seasons(300, s) for s in (1, 2, 3))
    context = Context(synthetic=p_syn, training=p_trn, holdout=p_hol, primary_key="id")
    with_context = assess(s_syn, s_trn, s_hol, context=context, context_key="player_id")
    grouped = assess(s_syn, s_trn, s_hol, group_key="player_id")
    assert with_context.context_columns == [] and with_context.is_sequential and with_context.coherence
    assert with_context.metrics == grouped.metrics
    assert with_context.metrics.accuracy is not None and with_context.metrics.accuracy.coherence is not None
    assert 'id="coherence"' in model_report(with_context)
