"""Sequence models: calibrated output marginals, numbers read in order, and career arcs.

A sequence is drawn row after row from the model's own earlier rows, so a head that sits a little
off its marginal drifts further with every row. These tests check the calibration step, the
ordinal reading of numbers, and the behaviour they are for: generated careers rise and fall as
the training careers do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.model import ModelShape, TabularARGN
from synth_dagster.engine.sequence import SequenceGenerator, ordinal_codes
from synth_dagster.engine.training import ColumnOrders, calibrate_output_biases


def _predicted_frequencies(model: TabularARGN, codes: torch.Tensor, orders: ColumnOrders) -> list[np.ndarray]:
    with torch.no_grad():
        logits = model(codes, orders.canonical_masks(), [len(codes)], None)
    return [torch.softmax(lg, -1).mean(0).numpy() for lg in logits]


def test_calibration_moves_every_head_onto_its_marginal() -> None:
    """A head pushed off its marginal (a +3 logit on one code) is brought back onto the rows'
    code frequencies; a head that was on it stays there."""
    torch.manual_seed(0)
    shape = ModelShape(cardinalities=(5, 7), column_of=(0, 1), size="small")
    model = TabularARGN(shape).eval()
    rng = np.random.default_rng(0)
    codes = torch.from_numpy(
        np.stack([rng.choice(5, 4000, p=[0.5, 0.2, 0.15, 0.1, 0.05]), rng.integers(0, 7, 4000)], 1)
    )
    orders = ColumnOrders(shape, flexible=False, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.heads[0][-1].bias[4] += 3.0
    before = _predicted_frequencies(model, codes, orders)
    empirical = [np.bincount(codes[:, j].numpy(), minlength=c) / len(codes) for j, c in enumerate((5, 7))]
    assert np.abs(before[0] - empirical[0]).max() > 0.2  # the pushed code is far too likely

    calibrate_output_biases(model, [(codes, None)], orders)

    after = _predicted_frequencies(model, codes, orders)
    for j in range(2):
        np.testing.assert_allclose(after[j], empirical[j], atol=0.01)


def _careers(n: int = 300, seed: int = 11) -> dict[str, pd.DataFrame]:
    """Careers of 8-14 seasons whose playing time rises to a peak mid-career and falls again,
    around a player's own level (regulars and bench players), with season-to-season noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        length = int(rng.integers(8, 15))
        level = rng.choice([120.0, 420.0], p=[0.4, 0.6])
        for t in range(length):
            arc = np.sin(np.pi * (t + 0.5) / length)  # 0 -> 1 -> 0 over the career
            at_bats = max(0.0, level * (0.3 + 0.7 * arc) + rng.normal(0, 25))
            rows.append({"pid": f"P{i:03d}", "season": t, "at_bats": round(at_bats)})
    return {"players": pd.DataFrame({"pid": [f"P{i:03d}" for i in range(n)]}), "seasons": pd.DataFrame(rows)}


def _phase_means(seasons: pd.DataFrame) -> np.ndarray:
    """Mean at-bats in the first, middle and last fifth of each career."""
    position = seasons.groupby("pid").cumcount()
    length = seasons.groupby("pid")["pid"].transform("size")
    phase = np.floor(position / length * 5).clip(0, 4).astype(int)
    return seasons.groupby(phase)["at_bats"].mean().to_numpy()


def test_generated_careers_rise_and_fall_like_the_training_careers(tmp_path: Path) -> None:
    frames = _careers()
    config = GeneratorConfig.model_validate(
        {
            "name": "careers",
            "random_state": 3,
            "tables": [
                {"name": "players", "primary_key": "pid"},
                {
                    "name": "seasons",
                    "foreign_keys": [{"column": "pid", "referenced_table": "players", "is_context": True}],
                },
            ],
        }
    )
    workspace = tmp_path / "ws"
    train_generator(config, frames, workspace)
    trained = TrainedGenerator(workspace)

    model = trained.model("seasons")
    assert isinstance(model, SequenceGenerator)
    ordinal = ordinal_codes(model.rows.plans)
    assert ordinal, "numbers are read in order"
    for values in ordinal.values():  # empty code 0, then value order within [0, 1]
        assert values[0] == 0.0 and np.all(np.diff(values[1:]) >= 0) and values.max() <= 1.0
    assert max(values.max() for values in ordinal.values()) == 1.0

    synthetic = trained.generate({"random_state": 1})["seasons"]
    real, fake = _phase_means(frames["seasons"]), _phase_means(synthetic)
    # the arc: mid-career seasons have far more at-bats than the first and last ones, in both
    assert fake[2] > 1.6 * fake[0] and fake[2] > 1.6 * fake[4]
    np.testing.assert_allclose(fake, real, rtol=0.15)
    # a player's level carries through the career: the two kinds of players stay apart
    per_player = synthetic.groupby("pid")["at_bats"].mean()
    assert 0.25 < (per_player < 200).mean() < 0.55  # 0.4 in training
