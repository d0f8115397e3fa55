"""Model and data quality of a multi-table generator: one probe, context tables, relations, reference rows.

The generator is a stand-in with the engine's interface (`config`, `holdout_index`, `generate`): its
"synthetic" data is a fresh draw from the process that made the real data, i.e. a perfect generator.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synth_dagster.qa
from synth_dagster.domain import GeneratorConfig, ModelMetrics, SyntheticDatasetConfig
from synth_dagster.sdk import quality
from synth_dagster.sdk.store import Store

CONFIG = GeneratorConfig.model_validate(
    {
        "name": "baseball",
        "tables": [
            {"name": "players", "primary_key": "id", "columns": ["id"]},
            {"name": "teams", "primary_key": "id", "columns": ["id", "league", "budget"]},
            {
                "name": "seasons",
                "primary_key": "id",
                "foreign_keys": [
                    {"column": "player_id", "referenced_table": "players", "is_context": True},
                    {"column": "team_id", "referenced_table": "teams", "is_context": False},
                ],
                "columns": ["id", "player_id", "team_id", "hits", "year"],
            },
        ],
    }
)


def _world(n_players: int, n_teams: int, seed: int) -> dict[str, pd.DataFrame]:
    """Players (only a key), teams, and per player a run of seasons whose hits follow the team's league."""
    rng = np.random.default_rng(seed)
    players = pd.DataFrame({"id": np.arange(1, n_players + 1)})
    teams = pd.DataFrame(
        {
            "id": np.arange(1, n_teams + 1),
            "league": rng.choice(["AL", "NL"], n_teams),
            "budget": rng.gamma(3.0, 30.0, n_teams).round(1),
        }
    )
    lengths = rng.integers(1, 6, n_players)
    player_id = np.repeat(players["id"].to_numpy(), lengths)
    team_id = rng.choice(teams["id"].to_numpy(), len(player_id))
    al = teams.set_index("id").loc[team_id, "league"].to_numpy() == "AL"
    seasons = pd.DataFrame(
        {
            "id": np.arange(1, len(player_id) + 1),
            "player_id": player_id,
            "team_id": team_id,
            "hits": rng.poisson(np.where(al, 120, 40)),
            "year": 2000 + np.concatenate([np.arange(n) for n in lengths]),
        }
    )
    return {"players": players, "teams": teams, "seasons": seasons}


class FakeTrained:
    def __init__(self, config: GeneratorConfig, frames: dict[str, pd.DataFrame]):
        self.config = config
        self.summaries: dict = {}  # training summaries by table (none trained with DP here)
        self.probes: list[SyntheticDatasetConfig] = []
        rng = np.random.default_rng(0)
        held_players = frames["players"]["id"].sample(frac=0.25, random_state=1)
        self._holdout = {
            "players": held_players.index.to_numpy(),
            "teams": frames["teams"].index[rng.random(len(frames["teams"])) < 0.25].to_numpy(),
            # a sequence is held out with its parent
            "seasons": frames["seasons"].index[frames["seasons"]["player_id"].isin(held_players)].to_numpy(),
        }

    def holdout_index(self, name: str) -> np.ndarray:
        return self._holdout[name]

    def generate(self, config: SyntheticDatasetConfig) -> dict[str, pd.DataFrame]:
        self.probes.append(config)
        sizes = {t.name: t.configuration.sample_size for t in config.tables or []}
        return _world(sizes["players"], sizes["teams"], seed=100 + len(self.probes))


@pytest.fixture()
def world() -> dict[str, pd.DataFrame]:
    # teams in the hundreds: a synthetic parent table of a few rows makes the relation noisy
    return _world(800, 400, seed=7)


@pytest.fixture()
def assessed(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """What every qa.assess call was given."""
    calls: list[dict] = []
    real = synth_dagster.qa.assess

    def spy(synthetic, training, holdout=None, **kwargs):
        context = kwargs.get("context")
        calls.append(
            {
                "columns": list(training.columns),
                "context_key": kwargs.get("context_key"),
                "context_columns": None if context is None else list(context.training.columns),
                "holdout": holdout is not None,
            }
        )
        return real(synthetic, training, holdout, **kwargs)

    monkeypatch.setattr(synth_dagster.qa, "assess", spy)
    return calls


def test_model_quality_probes_once_and_assesses_context_and_relations(
    world: dict[str, pd.DataFrame], assessed: list[dict], tmp_path: Path
) -> None:
    trained = FakeTrained(CONFIG, world)
    results = quality.model_quality(trained, world, {"teams", "seasons"}, 5, tmp_path)  # type: ignore[arg-type]

    # One probe for the whole dataset: the subject tables sized by their holdout, seasons follow.
    assert len(trained.probes) == 1 and trained.probes[0].random_state == 5
    sizes = {t.name: t.configuration.sample_size for t in trained.probes[0].tables or []}
    assert sizes == {"players": 200, "teams": len(trained.holdout_index("teams"))}

    # Keys are not assessed; seasons keep their context key and see the players as context.
    by_columns = {tuple(c["columns"]): c for c in assessed}
    assert set(by_columns) == {("league", "budget"), ("player_id", "hits", "year")}
    seasons_call = by_columns[("player_id", "hits", "year")]
    assert seasons_call["context_key"] == "player_id" and seasons_call["context_columns"] == ["id"]
    assert seasons_call["holdout"]

    # players hold only their key: nothing to assess, nothing stored
    assert results["players"] == {"metrics": None, "report": None}

    teams = results["teams"]["metrics"]
    assert "relations" not in teams  # a table without foreign keys stores what it always stored
    assert ModelMetrics.model_validate(teams).accuracy is not None

    seasons = ModelMetrics.model_validate(results["seasons"]["metrics"])
    assert seasons.accuracy is not None and seasons.accuracy.coherence is not None
    assert seasons.relations is not None and len(seasons.relations) == 1
    relation = seasons.relations[0]
    assert (relation.foreign_key, relation.referenced_table) == ("team_id", "teams")
    assert relation.n_pairs == 2 * 2  # (hits, year) × (league, budget); keys left out
    assert relation.referential_integrity == 1.0
    assert relation.holdout_joined_rows == len(trained.holdout_index("seasons"))
    assert relation.bivariate is not None and relation.bivariate_max is not None
    # a perfect generator comes close to the reference (whose children share the very parent rows)
    assert relation.bivariate > relation.bivariate_max - 0.1

    html = (tmp_path / results["seasons"]["report"]).read_text(encoding="utf-8")
    assert 'id="relations"' in html and "team_id" in html
    assert results["teams"]["report"] == "teams-model-report.html"


def test_shuffled_team_keys_lower_the_relation_only(world: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    class Shuffling(FakeTrained):
        def generate(self, config: SyntheticDatasetConfig) -> dict[str, pd.DataFrame]:
            out = super().generate(config)
            ids = out["seasons"]["team_id"].to_numpy()
            out["seasons"]["team_id"] = np.random.default_rng(3).permutation(ids)
            return out

    good = quality.model_quality(FakeTrained(CONFIG, world), world, set(), 5, tmp_path)  # type: ignore[arg-type]
    bad = quality.model_quality(Shuffling(CONFIG, world), world, set(), 5, tmp_path)  # type: ignore[arg-type]
    rel_good = ModelMetrics.model_validate(good["seasons"]["metrics"]).relations
    rel_bad = ModelMetrics.model_validate(bad["seasons"]["metrics"]).relations
    assert rel_good and rel_bad and rel_good[0].bivariate is not None and rel_bad[0].bivariate is not None
    assert rel_bad[0].bivariate < rel_good[0].bivariate - 0.05
    assert good["teams"] == bad["teams"]  # the parent's own figures do not depend on the link
    assert not any(p.is_file() for p in tmp_path.iterdir())  # no report requested, none written


def test_reference_rows_keep_whole_sequences_of_kept_parents(
    world: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quality, "MAX_REFERENCE_ROWS", 60)
    trained = FakeTrained(CONFIG, world)
    quality.reference_rows(trained, world, tmp_path)  # type: ignore[arg-type]
    for kind in quality.REFERENCE_KINDS:
        players = pd.read_parquet(tmp_path / f"players-{kind}.parquet")
        seasons = pd.read_parquet(tmp_path / f"seasons-{kind}.parquet")
        assert 0 < len(seasons) <= 60 and len(players) <= 60
        assert seasons["player_id"].isin(players["id"]).all()
        # whole sequences: every kept player has all of its seasons
        counts = seasons["player_id"].value_counts()
        full = world["seasons"]["player_id"].value_counts().loc[counts.index]
        assert (counts == full).all()


def test_data_quality_joins_parents_from_the_reference_rows(
    world: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    store = Store(tmp_path / "store")
    trained = FakeTrained(CONFIG, world)
    quality.reference_rows(trained, world, Path(store.path("qa")))  # type: ignore[arg-type]
    synthetic = _world(300, 30, seed=11)
    results = quality.data_quality(
        store, "qa", synthetic, tmp_path / "reports", config=CONFIG, tables={"seasons"}
    )
    assert set(results) == {"seasons"}  # players and teams only serve as parents
    metrics = ModelMetrics.model_validate(results["seasons"]["metrics"])
    assert metrics.accuracy is not None and metrics.accuracy.coherence is not None
    assert metrics.relations is not None and metrics.relations[0].referential_integrity == 1.0
    html = (tmp_path / "reports" / "seasons-data-report.html").read_text(encoding="utf-8")
    assert 'id="relations"' in html


def test_flat_generator_metrics_are_unchanged(tmp_path: Path) -> None:
    teams = _world(10, 400, seed=3)["teams"][["league", "budget"]]
    config = GeneratorConfig.model_validate({"tables": [{"name": "teams", "columns": ["league", "budget"]}]})

    class Flat:
        def __init__(self) -> None:
            self.config = config
            self.summaries: dict = {}

        def holdout_index(self, name: str) -> np.ndarray:
            return teams.index[300:].to_numpy()

        def generate(self, probe: SyntheticDatasetConfig) -> dict[str, pd.DataFrame]:
            size = probe.tables[0].configuration.sample_size  # type: ignore[index]
            return {"teams": _world(10, size, seed=4)["teams"][["league", "budget"]]}

    results = quality.model_quality(Flat(), {"teams": teams}, set(), 9, tmp_path)  # type: ignore[arg-type]
    direct = synth_dagster.qa.assess(
        _world(10, 100, seed=4)["teams"][["league", "budget"]],
        teams.iloc[:300],
        teams.iloc[300:],
        random_state=9,
    )
    assert results["teams"] == {
        "metrics": direct.metrics.model_dump(mode="json", exclude={"relations"}),
        "report": None,
    }
    assert "relations" not in results["teams"]["metrics"]


def test_the_model_report_of_a_table_with_a_text_column_has_a_text_section(tmp_path: Path) -> None:
    def notes(n: int, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        league = rng.choice(["AL", "NL"], n)
        words = rng.integers(1, 12, n)
        text = [f"{lg} " + "great season " * int(w) for lg, w in zip(league, words, strict=True)]
        return pd.DataFrame({"league": league, "note": text})

    real = notes(400, 3)
    config = GeneratorConfig.model_validate(
        {
            "tables": [
                {
                    "name": "teams",
                    "columns": [{"name": "league"}, {"name": "note", "model_encoding_type": "LANGUAGE_TEXT"}],
                }
            ]
        }
    )

    class WithText:
        def __init__(self) -> None:
            self.config = config
            self.summaries: dict = {}

        def holdout_index(self, name: str) -> np.ndarray:
            return real.index[300:].to_numpy()

        def generate(self, probe: SyntheticDatasetConfig) -> dict[str, pd.DataFrame]:
            return {"teams": notes(probe.tables[0].configuration.sample_size, 4)}  # type: ignore[index]

    results = quality.model_quality(WithText(), {"teams": real}, {"teams"}, 9, tmp_path)  # type: ignore[arg-type]
    html = (tmp_path / results["teams"]["report"]).read_text(encoding="utf-8")
    assert '<section id="text">' in html and "Length × league" in html and "great season" in html
