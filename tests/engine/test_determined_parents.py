"""Parent columns that the first or last row of their sequence determines (`sequence/determined.py`).

The tables are built here: each parent's `first_team` is the team of its first child row and its
`last_team` the team of its last, while the team changes within a sequence, so the link is in the
data but not in the children alone. The model is kept small and short-trained: it learns the link
only roughly, which is what the rule is for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.sequence import SEQUENCE_META, SequenceGenerator
from synth_dagster.engine.sequence.determined import MIN_PARENTS, DeterminedColumn, find_determined
from synth_dagster.engine.workspace import table_dir

FAST: dict[str, Any] = {"model": "MOSTLY_AI/Small", "max_epochs": 4}
TEAMS = [f"T{i}" for i in range(8)]
TABLES = [
    {"name": "parents", "primary_key": "id", "tabular_model_configuration": FAST},
    {
        "name": "children",
        "foreign_keys": [{"column": "pid", "referenced_table": "parents", "is_context": True}],
        "tabular_model_configuration": FAST,
    },
]


def _teams(n: int, linked: bool, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Parents with 2-5 children whose team changes in 40% of the rows after the first; with
    `linked`, parents know their first and last child's team, else they have a team of their own."""
    rng = np.random.default_rng(seed)
    parents, rows = [], []
    for i in range(n):
        team = first = str(rng.choice(TEAMS))
        for j in range(int(rng.integers(2, 6))):
            if j and rng.random() < 0.4:
                team = str(rng.choice(TEAMS))
            rows.append({"pid": i, "team": team, "score": float(rng.normal(j, 1.0))})
        own = (first, team) if linked else (str(rng.choice(TEAMS)), str(rng.choice(TEAMS)))
        parents.append(
            {"id": i, "first_team": own[0], "last_team": own[1], "size": str(rng.choice(["s", "l"]))}
        )
    return {"parents": pd.DataFrame(parents), "children": pd.DataFrame(rows)}


def _train(workspace: Path, frames: dict[str, pd.DataFrame]) -> TrainedGenerator:
    config = GeneratorConfig.model_validate({"name": "t", "random_state": 1, "tables": TABLES})
    train_generator(config, frames, workspace)
    return TrainedGenerator(workspace)


def _agreement(out: dict[str, pd.DataFrame], row: str = "first") -> tuple[float, int]:
    """Share of the parents with children whose first (last) child's team is their `<row>_team`."""
    teams = out["children"].groupby("pid", sort=False)["team"]
    drawn = teams.first() if row == "first" else teams.last()
    given = out["parents"].set_index("id")[f"{row}_team"].reindex(drawn.index)
    return float((given == drawn).mean()), len(drawn)


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> TrainedGenerator:
    return _train(tmp_path_factory.mktemp("linked") / "ws", _teams(160, linked=True))


def test_links_are_found_and_followed(linked: TrainedGenerator) -> None:
    model: SequenceGenerator = linked.model("children")
    found = {(d.parent_column, d.column, d.row) for d in model.determined}
    assert found == {("first_team", "team", "first"), ("last_team", "team", "last")}
    out = linked.generate({"random_state": 3})
    for row in ("first", "last"):
        share, parents = _agreement(out, row)
        assert parents > 100 and share >= 0.99, (row, share)
    # without the rule the same model draws the link far less often: the rule is what holds it
    rules, model.determined = model.determined, []
    try:
        assert _agreement(linked.generate({"random_state": 3}))[0] < 0.9
    finally:
        model.determined = rules


def test_links_survive_save_and_load(linked: TrainedGenerator) -> None:
    directory = table_dir(linked.workspace, "children")
    stored = json.loads((directory / SEQUENCE_META).read_text())["determined"]
    assert {d["parent_column"] for d in stored} == {"first_team", "last_team"}
    reloaded = SequenceGenerator.load(directory)
    assert reloaded.determined == linked.model("children").determined
    assert all(isinstance(d, DeterminedColumn) and d.share == 1.0 for d in reloaded.determined)


def test_seeded_parents_are_followed_and_protected_values_not_forced(linked: TrainedGenerator) -> None:
    # T3 is a category of the children; ZZ was never seen, so value protection has no code for it
    seed = pd.DataFrame({"id": np.arange(60), "first_team": ["T3"] * 30 + ["ZZ"] * 30, "size": "s"})
    out = linked.generate(
        {"random_state": 4, "tables": [{"name": "parents", "configuration": {"sample_seed_data": seed}}]}
    )
    first = out["children"].groupby("pid", sort=False)["team"].first()
    known, unseen = first[first.index < 30], first[first.index >= 30]
    assert len(known) > 15 and (known == "T3").all()
    assert len(unseen) > 15 and unseen.isin(TEAMS).all()  # drawn by the model, from real teams


def test_no_link_no_rule_and_the_same_draw(tmp_path: Path) -> None:
    trained = _train(tmp_path / "ws", _teams(120, linked=False, seed=1))
    model: SequenceGenerator = trained.model("children")
    assert model.determined == []
    parents = trained.generate({"random_state": 2})["parents"]
    lengths = np.full(len(parents), 3)
    codes = trained.table("parents").encode(parents.assign(__seqlen__children=lengths))
    plain = model.sample(codes, lengths, random_state=5)[0]
    given = model.sample(codes, lengths, random_state=5, parents=parents)[0]
    pd.testing.assert_frame_equal(plain, given)


def _one_row_each(parent: list[Any], child: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    return pd.DataFrame({"p": parent}), pd.DataFrame({"x": child}), np.arange(len(child))


def test_find_determined_needs_nearly_every_parent() -> None:
    n = 200
    values = [f"v{i % 7}" for i in range(n)]
    parents, children, parent_of = _one_row_each(values, values)
    assert find_determined(parents, children, parent_of, ["x"])[0].share == 1.0
    broken = values[:]
    for i in range(4):  # 98% agree: a tendency, not a rule
        broken[i] = "other"
    parents, children, parent_of = _one_row_each(values, broken)
    assert find_determined(parents, children, parent_of, ["x"]) == []
    # empty agreeing with empty says nothing
    parents, children, parent_of = _one_row_each([None] * n, [None] * n)
    assert find_determined(parents, children, parent_of, ["x"]) == []
    # too few parents for a rule
    short = values[: MIN_PARENTS - 1]
    parents, children, parent_of = _one_row_each(short, short)
    assert find_determined(parents, children, parent_of, ["x"]) == []


def test_find_determined_reads_first_and_last_rows() -> None:
    # three rows per parent: the first is the parent's value, the last its value + 1
    n = 60
    parent_of = np.repeat(np.arange(n), 3)
    x = np.stack([np.arange(n), np.full(n, -1), np.arange(n) + 1], axis=1).reshape(-1)
    parents = pd.DataFrame({"start": np.arange(n), "end": np.arange(n) + 1})
    found = find_determined(parents, pd.DataFrame({"x": x}), parent_of, ["x"])
    assert [(d.parent_column, d.row) for d in found] == [("start", "first"), ("end", "last")]
