"""Continued training (clone("continue") in the client): a generator resumes from its saved weights."""

from __future__ import annotations

import pandas as pd
import pytest

from synth_dagster.engine import EngineInputError, FlatGenerator, FlatOptions, GenerationRequest


def test_continued_training_starts_from_the_saved_weights(diamonds: pd.DataFrame, tmp_path) -> None:
    options = FlatOptions(random_state=1, max_epochs=2, model_size="small")
    first = FlatGenerator.fit(diamonds, options)
    first.save(tmp_path / "first")
    restored = FlatGenerator.load(tmp_path / "first")

    events = []
    continued = FlatGenerator.fit(diamonds, options, on_progress=events.append, previous=restored)
    assert continued.report is not None and first.report is not None
    first_epoch = next(e for e in events if e.step == "TRAIN_MODEL")
    # one more epoch from the saved weights is already better than where the first run ended;
    # a fresh model's first epoch is far worse (its loss starts near log(cardinality) per sub-column)
    fresh_events = []
    FlatGenerator.fit(
        diamonds, FlatOptions(random_state=1, max_epochs=1, model_size="small"), fresh_events.append
    )
    fresh_first = next(e for e in fresh_events if e.step == "TRAIN_MODEL")
    assert first_epoch.val_loss < fresh_first.val_loss
    assert continued.report.best_val_loss <= first.report.best_val_loss
    # same analysis and encodings: the continued generator keeps the plans of the first
    assert [p.to_dict() for p in continued.plans] == [p.to_dict() for p in first.plans]
    out = continued.sample(GenerationRequest(size=200, random_state=3))
    assert list(out.columns) == list(diamonds.columns) and len(out) == 200


def test_continued_training_needs_the_same_columns(diamonds: pd.DataFrame) -> None:
    options = FlatOptions(random_state=1, max_epochs=1, model_size="small")
    first = FlatGenerator.fit(diamonds, options)
    with pytest.raises(EngineInputError, match="cannot continue training"):
        FlatGenerator.fit(diamonds.drop(columns="price"), options, previous=first)
