"""Differential privacy: DP-SGD (accounting, the ε budget, clipping, seeding), DP value
protection, and DP on sequence tables and key matchers. Tiny tables, a few steps each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import RDPAccountant
from opacus.optimizers import DPOptimizer

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.encoding.private import (
    ValueBudget,
    category_threshold,
    dp_bounds,
    dp_frequent_counts,
)
from synth_dagster.engine.flat import FlatGenerator, FlatOptions
from synth_dagster.engine.model import ModelShape, TabularARGN
from synth_dagster.engine.privacy import DPSettings, PrivacyLedger
from synth_dagster.engine.privacy.dpsgd import DP_EPOCHS, DP_SAMPLE_RATE, per_unit_gradients
from synth_dagster.engine.privacy.flat import _row_loss, order_parts, unit_masks
from synth_dagster.engine.training import ColumnOrders

DP_MODEL = {"model": "MOSTLY_AI/Small", "max_epochs": 1, "differential_privacy": {"max_epsilon": 8.0}}


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.choice(list("xyz"), n), "b": rng.integers(0, 4, n)})


def _fit(dp: DPSettings, epochs: float = 2.0, seed: int = 1) -> FlatGenerator:
    options = FlatOptions(model_size="small", max_epochs=epochs, random_state=seed, differential_privacy=dp)
    return FlatGenerator.fit(_frame(), options)


def test_epsilon_matches_an_independent_opacus_accountant() -> None:
    ledger = PrivacyLedger(delta=1e-5, training_delta=5e-6, value_protection_epsilon=0.5)
    ledger.record(1.3, 0.02, 250)
    ledger.record(1.3, 0.05, 40)  # a continued training with another sample rate
    accountant = RDPAccountant()
    for _ in range(250):
        accountant.step(noise_multiplier=1.3, sample_rate=0.02)
    for _ in range(40):
        accountant.step(noise_multiplier=1.3, sample_rate=0.05)
    assert ledger.training_epsilon() == pytest.approx(accountant.get_epsilon(5e-6), rel=1e-9)
    assert ledger.epsilon == pytest.approx(0.5 + accountant.get_epsilon(5e-6), rel=1e-9)
    again = PrivacyLedger.from_json(ledger.to_json())  # JSON round trip keeps counting
    assert again.epsilon == pytest.approx(ledger.epsilon)


def test_training_stops_at_max_epsilon_and_reports_it() -> None:
    dp = DPSettings(max_epsilon=3.0, noise_multiplier=1.5, value_protection_epsilon=0.5)
    generator = _fit(dp, epochs=100.0)
    report = generator.report
    assert report.stop_reason == "max_epsilon"
    ledger = PrivacyLedger.from_json(report.privacy)
    assert ledger.epsilon <= 3.0 and ledger.steps > 0
    sigma, rate, steps = ledger.history[0]
    one_more = ledger.value_protection_epsilon + PrivacyLedger(1e-5, ledger.training_delta).training_epsilon(
        (sigma, rate, int(steps) + 1)
    )
    assert one_more > 3.0  # the next step would have exceeded the budget
    assert report.privacy["epsilon"] == pytest.approx(ledger.epsilon)


def test_calibrated_noise_spends_the_budget_in_the_default_epochs() -> None:
    """Noise unset: large Poisson batches for DP_EPOCHS epochs, the noise the smallest that keeps
    ε within max_epsilon; an independent opacus accountant of that schedule agrees."""
    dp = DPSettings(max_epsilon=3.0, value_protection_epsilon=0.5)
    report = _fit(dp, epochs=100.0).report
    ledger = PrivacyLedger.from_json(report.privacy)
    (sigma, rate, steps), budget = ledger.history[0], 2.5
    assert report.stop_reason == "max_epsilon"
    assert DP_SAMPLE_RATE - 0.01 <= rate <= 32 / 250  # 10%, at least 32 units (of ~270)
    assert steps == int(DP_EPOCHS * np.ceil(1 / rate)) and report.epochs == pytest.approx(DP_EPOCHS)
    accountant = RDPAccountant()
    for _ in range(int(steps)):
        accountant.step(noise_multiplier=sigma, sample_rate=rate)
    independent = accountant.get_epsilon(ledger.training_delta)
    assert ledger.training_epsilon() == pytest.approx(independent, rel=1e-9)
    assert 0.97 * budget <= independent <= budget  # the budget is spent, not exceeded
    less_noise = RDPAccountant()
    less_noise.history = [(sigma / 1.02, rate, int(steps))]
    assert less_noise.get_epsilon(ledger.training_delta) > budget


def test_per_sample_gradients_of_order_parts_are_those_of_single_rows() -> None:
    """The units of one column order share its mask (one masked weight per part): the same
    per-unit gradients as with a mask per unit."""
    torch.manual_seed(0)
    shape = ModelShape(cardinalities=(5, 7, 3, 4), column_of=(0, 1, 2, 3), size="small")
    model = TabularARGN(shape).eval()  # no dropout: the two ways must agree exactly
    orders = ColumnOrders(shape, True, torch.Generator().manual_seed(0))
    codes = torch.stack([torch.randint(0, c, (40,)) for c in shape.cardinalities], 1)
    parts = order_parts(orders, (codes,))
    assert sum(len(t[0]) for t, _ in parts) == 40 and len(parts) > 1
    for (rows,), (mask,) in parts:
        shared = per_unit_gradients(model, _row_loss, (rows,), (mask,))
        single = per_unit_gradients(model, _row_loss, (rows, mask[None].expand(len(rows), -1, -1)))
        for name, g in shared.items():
            assert torch.allclose(g, single[name], atol=1e-5), name
        model.zero_grad()
        _row_loss(model, rows[0], mask).backward()
        assert torch.allclose(shared["first_bias"][0], model.first_bias.grad, atol=1e-5)


def test_per_sample_gradients_are_clipped_before_noise() -> None:
    torch.manual_seed(0)
    shape = ModelShape(cardinalities=(5, 7, 3), column_of=(0, 1, 2), size="small")
    model = TabularARGN(shape)
    orders = ColumnOrders(shape, True, torch.Generator().manual_seed(0))
    codes = torch.stack([torch.randint(0, c, (16,)) for c in shape.cardinalities], 1)
    masks = unit_masks(orders, 16)
    grads = per_unit_gradients(model, _row_loss, (codes, masks))
    # the per-unit gradients are those of each row alone
    model.zero_grad()
    _row_loss(model, codes[3], masks[3]).backward()
    assert torch.allclose(grads["first_bias"][3], model.first_bias.grad, atol=1e-5)
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1).norm(dim=1)
    assert (norms > 0.05).all()
    optimizer = DPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1),
        noise_multiplier=0.0,
        max_grad_norm=0.05,
        expected_batch_size=1,
    )
    named = dict(model.named_parameters())
    for i in range(16):  # one unit at a time: the step's gradient is that unit's, clipped
        for n, g in grads.items():
            named[n].grad_sample = g[i : i + 1]
        optimizer.pre_step()
        clipped = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
        assert clipped <= 0.05 + 1e-6
        optimizer.zero_grad()


def test_dp_category_threshold_excludes_rare_and_keeps_common() -> None:
    values = pd.Series(["rare"] * 3 + ["common"] * 2000 + ["other"] * 7997)
    excluded, kept = 0, 0
    for seed in range(100):
        counts = dp_frequent_counts(values, None, ValueBudget(epsilon=1.0, delta=1e-6, seed=seed))
        excluded += "rare" not in counts.index
        kept += "common" in counts.index
    assert excluded >= 95 and kept == 100
    assert category_threshold(1.0, 1e-6) > 5


def test_dp_bounds_cut_single_extremes() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(10, 100, 5000), [1e9, -1e9]])
    lo, hi = dp_bounds(values, None, ValueBudget(epsilon=1.0, delta=1e-6, seed=3))
    assert 5 <= lo <= 10 and 100 <= hi <= 200


def test_seeded_dp_training_is_reproducible() -> None:
    dp = DPSettings(max_epsilon=5.0)
    one, two = _fit(dp, epochs=1.0, seed=7), _fit(dp, epochs=1.0, seed=7)
    for (name, a), b in zip(one.model.state_dict().items(), two.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    other = _fit(dp, epochs=1.0, seed=8)
    assert not torch.equal(one.model.first_bias, other.model.first_bias)


def test_dp_changes_the_weights() -> None:
    plain = FlatGenerator.fit(_frame(), FlatOptions(model_size="small", max_epochs=1.0, random_state=7))
    private = _fit(DPSettings(max_epsilon=5.0), epochs=1.0, seed=7)
    assert private.report.privacy and not plain.report.privacy
    assert not torch.equal(plain.model.first_bias, private.model.first_bias)


def test_dp_on_a_sequence_table_and_a_non_context_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    parents = pd.DataFrame({"id": np.arange(60), "kind": rng.choice(["a", "b"], 60)})
    pid = np.repeat(np.arange(60), 3)
    shops = pd.DataFrame({"sid": np.arange(20), "size": rng.choice(["s", "l"], 20)})
    children = pd.DataFrame(
        {"pid": pid, "v": rng.integers(0, 3, len(pid)), "ref": rng.integers(0, 20, len(pid))}
    )
    config = GeneratorConfig.model_validate(
        {
            "name": "t",
            "random_state": 1,
            "tables": [
                {"name": "parents", "primary_key": "id", "tabular_model_configuration": DP_MODEL},
                {"name": "shops", "primary_key": "sid", "is_lookup": True},
                {
                    "name": "children",
                    "foreign_keys": [
                        {"column": "pid", "referenced_table": "parents", "is_context": True},
                        {"column": "ref", "referenced_table": "shops", "is_context": False},
                    ],
                    "tabular_model_configuration": DP_MODEL,
                },
            ],
        }
    )
    summaries = train_generator(
        config, {"parents": parents, "shops": shops, "children": children}, tmp_path / "ws"
    )
    generator = TrainedGenerator(tmp_path / "ws")
    assert summaries["parents"].epsilon and summaries["parents"].epsilon <= 8.0
    child = summaries["children"]
    assert child.epsilon is not None and child.delta == 1e-5
    matcher_json = next((tmp_path / "ws").rglob("matcher.json")).read_text()
    assert '"epsilon"' in matcher_json  # the key matcher trained with DP-SGD
    assert generator.summaries["children"].epsilon == pytest.approx(child.epsilon)
    out = generator.generate(None)
    assert len(out["children"]) > 0
