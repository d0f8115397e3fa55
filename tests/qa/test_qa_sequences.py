"""Sequential data (group key) and context tables: coherence and target × context pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.qa import Context, assess
from synth_dagster.qa.binning import fit_column


def _customers_and_events(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customers (context) and their event sequences: a sticky state and a tier-driven amount."""
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(
        {"id": np.arange(n) + seed * 1_000_000, "tier": rng.choice(["gold", "basic"], n)}
    )
    rows = []
    for cid, tier in zip(customers["id"], customers["tier"], strict=True):
        state = rng.choice(["browse", "buy", "idle"])
        for _ in range(rng.integers(1, 9)):
            if rng.random() < 0.2:  # states persist: strong auto-correlation
                state = rng.choice(["browse", "buy", "idle"])
            base = 100.0 if tier == "gold" else 20.0
            rows.append((cid, state, round(base * rng.gamma(2.0, 0.5), 2)))
    events = pd.DataFrame(rows, columns=["customer_id", "state", "amount"])
    return customers, events


@pytest.fixture(scope="module")
def data() -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    return {
        k: _customers_and_events(1_500, s) for k, s in (("training", 1), ("holdout", 2), ("synthetic", 3))
    }


def _run(data, syn_events=None, syn_customers=None):
    (c_trn, e_trn), (c_hol, e_hol), (c_syn, e_syn) = data["training"], data["holdout"], data["synthetic"]
    ctx = Context(
        synthetic=c_syn if syn_customers is None else syn_customers,
        training=c_trn,
        holdout=c_hol,
        primary_key="id",
    )
    return assess(
        e_syn if syn_events is None else syn_events, e_trn, e_hol, context=ctx, context_key="customer_id"
    )


def test_coherence_matches_direct_computation(data) -> None:
    ev = _run(data)
    assert ev.is_sequential
    (_, e_trn), (_, e_hol), (_, e_syn) = data["training"], data["holdout"], data["synthetic"]
    bins = fit_column("state", "categorical", e_trn["state"], e_hol["state"])
    assert set(bins.categories or ()) == {"browse", "buy", "idle"}  # no "other": labels are the values

    def transitions(e: pd.DataFrame) -> pd.Series:
        nxt = e.groupby("customer_id")["state"].shift(-1)
        keep = nxt.notna()
        return e["state"][keep] + ">" + nxt[keep]

    pt = transitions(e_trn).value_counts(normalize=True)
    ps = transitions(e_syn).value_counts(normalize=True)
    direct = 1 - 0.5 * pt.sub(ps, fill_value=0).abs().sum()
    got = {m.columns[0]: m.accuracy for m in ev.coherence}
    assert got["state"] == pytest.approx(direct, abs=1e-6)
    acc = ev.metrics.accuracy
    assert acc is not None and acc.coherence is not None and acc.coherence_max is not None
    assert acc.overall == pytest.approx((acc.univariate + acc.bivariate + acc.coherence) / 3, abs=1e-12)


def test_shuffling_within_sequences_lowers_coherence_only(data) -> None:
    (_, e_syn) = data["synthetic"]
    rng = np.random.default_rng(0)
    shuffled = e_syn.copy()
    shuffled["state"] = shuffled.groupby("customer_id")["state"].transform(
        lambda s: s.to_numpy()[rng.permutation(len(s))]
    )
    intact, broken = _run(data), _run(data, syn_events=shuffled)
    assert intact.metrics.accuracy is not None and broken.metrics.accuracy is not None
    assert broken.metrics.accuracy.univariate == pytest.approx(intact.metrics.accuracy.univariate, abs=1e-12)
    before = {m.columns[0]: m.accuracy for m in intact.coherence}
    after = {m.columns[0]: m.accuracy for m in broken.coherence}
    assert after["state"] < before["state"] - 0.05  # order within each sequence is lost
    assert after["amount"] == pytest.approx(before["amount"], abs=1e-12)  # untouched column
    assert broken.metrics.accuracy.coherence < intact.metrics.accuracy.coherence


def test_copy_of_training_is_perfectly_coherent(data) -> None:
    c_trn, e_trn = data["training"]
    ev = _run(data, syn_events=e_trn.copy(), syn_customers=c_trn.copy())
    acc, dist = ev.metrics.accuracy, ev.metrics.distances
    assert acc is not None and dist is not None
    assert acc.coherence == pytest.approx(1.0) and acc.overall == pytest.approx(1.0)
    assert dist.ims_training == 1.0 and dist.dcr_share == 1.0
    # Records are whole sequences: one per customer.
    assert ev.distances is not None and ev.distances.n_records == len(c_trn)


def test_context_pairs_are_part_of_bivariate(data) -> None:
    ev = _run(data)
    pairs = {m.columns for m in ev.bivariate}
    assert ("state", "amount") in pairs
    assert ("amount", "context::tier") in pairs and ("state", "context::tier") in pairs
    assert len(pairs) == 1 + 2 * 1  # target pairs + target × context, no context × context
    assert {m.columns[0] for m in ev.univariate} == {"state", "amount"}  # context has its own model

    # Breaking the link between customers and their events hurts exactly the target × context pairs.
    (c_syn, e_syn) = data["synthetic"]
    relinked = c_syn.assign(tier=np.random.default_rng(1).permutation(c_syn["tier"].to_numpy()))
    broken = {m.columns: m.accuracy for m in _run(data, syn_customers=relinked).bivariate}
    intact = {m.columns: m.accuracy for m in ev.bivariate}
    assert broken[("amount", "context::tier")] < intact[("amount", "context::tier")] - 0.1
    assert broken[("state", "amount")] == pytest.approx(intact[("state", "amount")], abs=1e-12)


def test_group_key_without_context(data) -> None:
    (_, e_trn), (_, e_hol), (_, e_syn) = data["training"], data["holdout"], data["synthetic"]
    ev = assess(e_syn, e_trn, e_hol, group_key="customer_id")
    assert ev.is_sequential and ev.coherence
    assert ev.context_columns == []


def test_report_has_a_coherence_section(data) -> None:
    from synth_dagster.qa import model_report

    html = model_report(_run(data))
    assert 'id="coherence"' in html and "Coherence accuracy per column" in html
    assert "context::tier" in html  # context columns are charted too
