"""Sequence models: calibrated output marginals, numbers read in order, repeated categories, and
career arcs.

A sequence is drawn row after row from the model's own earlier rows, so a head that sits a little
off its marginal drifts further with every row. These tests check the calibration step, the
ordinal reading of numbers, the gate on a categorical column's previous value, and the behaviour
they are for: generated careers rise and fall as the training careers do, and players change teams
as rarely as the training players. Without the gate, plyr/baseball's synthetic players changed
teams in 40% of their seasons against 19% in the data (4.8 teams per career became 7.2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.model import ModelShape, TabularARGN
from synth_dagster.engine.sequence import SequenceGenerator, ordinal_codes, repeat_sub_columns
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


def _players_and_seasons(name: str, random_state: int) -> GeneratorConfig:
    """players (primary key pid) with their seasons as sequences (context key pid)."""
    return GeneratorConfig.model_validate(
        {
            "name": name,
            "random_state": random_state,
            "tables": [
                {"name": "players", "primary_key": "pid"},
                {
                    "name": "seasons",
                    "foreign_keys": [{"column": "pid", "referenced_table": "players", "is_context": True}],
                },
            ],
        }
    )


def _phase_means(seasons: pd.DataFrame) -> np.ndarray:
    """Mean at-bats in the first, middle and last fifth of each career."""
    position = seasons.groupby("pid").cumcount()
    length = seasons.groupby("pid")["pid"].transform("size")
    phase = np.floor(position / length * 5).clip(0, 4).astype(int)
    return seasons.groupby(phase)["at_bats"].mean().to_numpy()


def test_generated_careers_rise_and_fall_like_the_training_careers(tmp_path: Path) -> None:
    frames = _careers()
    workspace = tmp_path / "ws"
    train_generator(_players_and_seasons("careers", 3), frames, workspace)
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


def _model_with_repeat() -> TabularARGN:
    torch.manual_seed(0)
    shape = ModelShape(cardinalities=(6, 4), column_of=(0, 1), size="small", context_dim=3, repeat=(0,))
    model = TabularARGN(shape).eval()
    with torch.no_grad():
        model.repeat_bias.fill_(5.0)
    return model


def test_the_previous_code_gets_the_gate_in_training_and_generation_alike() -> None:
    model = _model_with_repeat()
    dense = torch.randn(3, 3)
    previous = torch.tensor([[2.0], [-1.0], [5.0]])  # a first row (-1) has no previous code
    context = torch.cat([dense, previous], 1)
    codes = torch.tensor([[1, 0], [1, 0], [1, 0]])
    orders = ColumnOrders(model.shape, flexible=False, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        with_gate = model(codes, orders.canonical_masks(), [3], context)[0]
        without = model(codes, orders.canonical_masks(), [3], torch.cat([dense, -torch.ones(3, 1)], 1))[0]
    lift = with_gate - without
    assert lift[0, 2] > 1.0 and lift[2, 5] > 1.0  # the gate: bias 5 + hidden . weight (0 here)
    lifted = torch.zeros_like(lift, dtype=torch.bool)
    lifted[0, 2] = lifted[2, 5] = True
    assert torch.all(lift[~lifted] == 0)  # other codes and the first row are left alone
    assert model(codes[:0], orders.canonical_masks(), [0], context[:0])[1].shape == (0, 4)

    # the generation path (first sub-column drawn first: no prefix) gives the same logits
    stepped = model.step_logits(
        0,
        model.step_tables([0, 1])[0],
        torch.zeros(3, 0, dtype=torch.long),
        model.context_term(context),
        None,
        model.repeat_codes(context),
    )
    torch.testing.assert_close(stepped, with_gate)


def _stays(n: int = 240, seed: int = 5) -> dict[str, pd.DataFrame]:
    """Careers of 8-12 seasons on 25 teams; a player stays with his team 85% of the seasons."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        team = int(rng.integers(25))
        for t in range(int(rng.integers(8, 13))):
            if t and rng.random() < 0.15:
                team = int(rng.choice([k for k in range(25) if k != team]))
            rows.append({"pid": i, "season": t, "team": f"T{team:02d}", "games": int(rng.integers(20, 160))})
    return {"players": pd.DataFrame({"pid": range(n)}), "seasons": pd.DataFrame(rows)}


def _same_as_before(seasons: pd.DataFrame) -> float:
    previous = seasons.groupby("pid")["team"].shift()
    return float((seasons["team"] == previous)[previous.notna()].mean())


def test_generated_players_change_teams_as_rarely_as_the_training_players(tmp_path: Path) -> None:
    frames = _stays()
    train_generator(_players_and_seasons("stays", 2), frames, tmp_path / "ws")
    trained = TrainedGenerator(tmp_path / "ws")
    model = trained.model("seasons")
    assert isinstance(model, SequenceGenerator)
    team = [p.name for p in model.rows.plans].index("team")
    assert model.rows.model.shape.repeat == repeat_sub_columns(model.rows.plans)
    assert (
        len(model.rows.model.shape.repeat) == 1
        and model.rows.model.shape.column_of[model.rows.model.shape.repeat[0]] == team
    )

    synthetic = trained.generate({"random_state": 1})["seasons"]
    real, fake = _same_as_before(frames["seasons"]), _same_as_before(synthetic)
    assert abs(real - 0.85) < 0.03
    assert abs(fake - real) < 0.06, (fake, real)
    teams_per_player = synthetic.groupby("pid")["team"].nunique().mean()
    assert abs(teams_per_player - frames["seasons"].groupby("pid")["team"].nunique().mean()) < 0.5
