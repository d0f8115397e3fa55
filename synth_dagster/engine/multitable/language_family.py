"""Tables with LANGUAGE_* columns: the tabular family learns the other columns, then a language
model learns the language columns conditioned on each row's tabular codes (and its parents').

The row is one sample: at generation the tabular columns are drawn first, then the language
columns from the drawn rows' codes. Seeded language values come back unchanged and condition the
language columns after them. A table without language columns passes through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.domain import ModelConfiguration, SourceTableConfig
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat import FlatGenerator
from synth_dagster.engine.language.causal import CausalLanguageModel, check_model_path
from synth_dagster.engine.language.model import LSTM_MODEL, LanguageModel
from synth_dagster.engine.language.sampling import FREE, SampleSettings
from synth_dagster.engine.language.training import LanguageSettings
from synth_dagster.engine.multitable.families import (
    DrawInput,
    DrawnTable,
    FittedTable,
    ModelFamily,
    TrainingInput,
)
from synth_dagster.engine.multitable.roles import TableKind
from synth_dagster.engine.multitable.state import TableState


@dataclass
class WithText:
    """A table's tabular model and the language model of its language columns."""

    tabular: Any
    language: LanguageModel | CausalLanguageModel


def language_encodings(table: SourceTableConfig) -> dict[str, str]:
    """The table's language columns and their encodings, in column order."""
    return {
        c.name: c.model_encoding_type.value
        for c in table.columns or []
        if c.model_encoding_type.is_language and c.name not in table.key_columns
    }


def language_model_name(table: SourceTableConfig) -> str:
    mc = table.language_model_configuration or ModelConfiguration()
    return mc.model or LSTM_MODEL


def language_settings(table: SourceTableConfig, random_state: int | None) -> LanguageSettings:
    mc = table.language_model_configuration or ModelConfiguration()
    return LanguageSettings(
        max_epochs=mc.max_epochs if mc.max_epochs is not None else 100.0,
        max_training_time=mc.max_training_time,
        batch_size=mc.batch_size,
        gradient_accumulation_steps=mc.gradient_accumulation_steps,
        max_sample_size=mc.max_sample_size,
        random_state=random_state,
        value_protection=mc.value_protection is not False,
        flexible=mc.enable_flexible_generation is not False,
    )


class WithLanguage:
    """A family that adds a language model to `inner`'s tables that have language columns."""

    def __init__(self, inner: ModelFamily):
        self.inner = inner
        self.kind: TableKind = inner.kind

    def fit(self, job: TrainingInput) -> FittedTable:
        encodings = language_encodings(job.table)
        if not encodings:
            return self.inner.fit(job)
        tabular = job.frame.drop(columns=list(encodings))
        frames = {**job.frames, job.table.name: tabular}
        fitted = self.inner.fit(replace(job, frame=tabular, frames=frames))
        state = fitted.state
        settings = language_settings(job.table, job.config.random_state)
        rows = np.arange(len(state.labels))
        if settings.max_sample_size and len(rows) > settings.max_sample_size:
            rows = np.sort(job.rng.choice(rows, settings.max_sample_size, replace=False))
        language = _fit_language(job, encodings, job.frame.loc[state.labels[rows]], state, rows, settings)
        return replace(
            fitted,
            model=WithText(fitted.model, language),
            encodings={**fitted.encodings, **encodings},
            language=_figures(job.table, language),
        )

    def save(self, model: Any, directory: Path) -> None:
        if isinstance(model, WithText):
            self.inner.save(model.tabular, directory)
            model.language.save(directory)
        else:
            self.inner.save(model, directory)

    def load(self, directory: Path) -> Any:
        tabular = self.inner.load(directory)
        if LanguageModel.exists(directory):
            return WithText(tabular, LanguageModel.load(directory))
        if CausalLanguageModel.exists(directory):
            return WithText(tabular, CausalLanguageModel.load(directory))
        return tabular

    def row_model(self, model: Any) -> FlatGenerator:
        return self.inner.row_model(model.tabular if isinstance(model, WithText) else model)

    def sample(self, job: DrawInput) -> DrawnTable:
        if not isinstance(job.model, WithText):
            return self.inner.sample(job)
        language = job.model.language
        seed = job.seed
        tabular_seed = None if seed is None else seed.drop(columns=language.columns, errors="ignore")
        drawn = self.inner.sample(replace(job, model=job.model.tabular, seed=tabular_seed))
        seeded = _seeded(language.columns, seed, len(drawn.frame))
        settings = SampleSettings(
            temperature=job.temperature, top_p=job.top_p, seed=int(job.rng.integers(2**31))
        )
        if isinstance(language, CausalLanguageModel):
            context = drawn.frame[language.context_columns].reset_index(drop=True)
            texts = language.sample(context, seeded, settings, job.on_progress)
        else:
            texts = language.sample(drawn.ancestry, seeded, settings, job.on_progress)
        frame = drawn.frame.reset_index(drop=True)
        for column in language.columns:
            values = texts[column]
            if seed is not None and column in seed.columns and len(seed) == len(frame):
                given = seed[column].reset_index(drop=True)
                values = values.astype(object).where(given.isna(), given)  # seeded values unchanged
            frame[column] = values.to_numpy()
        return replace(drawn, frame=frame)


def _fit_language(
    job: TrainingInput,
    encodings: dict[str, str],
    rows: pd.DataFrame,
    state: TableState,
    kept: np.ndarray,
    settings: LanguageSettings,
) -> LanguageModel | CausalLanguageModel:
    """The LSTM on the rows' codes, or a local causal LM prompted with the rows' tabular values."""
    name = language_model_name(job.table)
    values = rows[list(encodings)].reset_index(drop=True)
    validation = np.asarray(state.validation[kept], dtype=bool)
    if name == LSTM_MODEL:
        return LanguageModel.fit(
            values,
            encodings,
            state.ancestry[kept],
            state.ancestry_cards,
            validation,
            settings,
            job.on_progress,
            job.should_stop,
        )
    check_model_path(name, job.table.name)
    if list(encodings.values()) != ["LANGUAGE_TEXT"]:
        raise EngineInputError(
            f"table {job.table.name!r}: a Hugging Face language model learns one LANGUAGE_TEXT column; "
            f"columns {list(encodings)} need '{LSTM_MODEL}' (its grammars are compiled for its tokenizer)"
        )
    context = rows.drop(columns=[*encodings, *job.table.key_columns], errors="ignore").reset_index(drop=True)
    return CausalLanguageModel.fit(
        name, values, context, validation, settings, job.on_progress, job.should_stop
    )


def _figures(table: SourceTableConfig, language: LanguageModel | CausalLanguageModel) -> dict[str, Any]:
    report = language.report
    figures: dict[str, Any] = {
        "model": language_model_name(table),
        "parameters": language.parameters if isinstance(language, LanguageModel) else None,
    }
    if report is not None:
        figures.update(
            epochs=round(report.epochs, 3),
            steps=report.steps,
            seconds=round(report.seconds, 2),
            best_val_loss=round(report.best_val_loss, 4),
            stop_reason=report.stop_reason,
        )
    return figures


def _seeded(columns: list[str], seed: pd.DataFrame | None, n: int) -> list[list[Any] | None]:
    """Per language column, per drawn row: the seeded value, or FREE to sample it. A seed gives
    one row per drawn row; a seed of another length (a sequence table's seed) conditions nothing."""
    if seed is None or len(seed) != n:
        return [None] * len(columns)
    out: list[list[Any] | None] = []
    for column in columns:
        if column not in seed.columns:
            out.append(None)
            continue
        values = seed[column].tolist()
        out.append([FREE if pd.isna(v) else str(v) for v in values])
    return out
