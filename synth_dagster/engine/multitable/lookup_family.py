"""Lookup tables: public reference rows kept as they are; only their encoding is learned (the key
matchers of referencing tables read it), no model is trained."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat import FlatGenerator
from synth_dagster.engine.multitable.families import DrawInput, DrawnTable, FittedTable, TrainingInput
from synth_dagster.engine.multitable.frames import count_columns, model_frame
from synth_dagster.engine.multitable.state import cards_of, subject_state

LOOKUP_ROWS = "rows.parquet"
LOOKUP_CODES = "codes.npy"


@dataclass
class LookupModel:
    encoding: FlatGenerator  # trained for 0 epochs: the column plans that encode the rows
    rows: pd.DataFrame
    codes: np.ndarray


class LookupFamily:
    kind = "lookup"

    def fit(self, job: TrainingInput) -> FittedTable:
        started = time.monotonic()
        frame = job.frame
        options = replace(
            job.options,
            max_epochs=0,
            max_sample_size=None,
            value_protection=False,  # its rows come back as they are anyway; the codes must tell them apart
        )
        encoding = FlatGenerator.fit(
            model_frame(job.table, frame, count_columns(job.config, job.table, frame, job.frames)), options
        )
        codes = encoding.training_codes
        model = LookupModel(encoding, frame.reset_index(drop=True), codes)
        state = subject_state(job.table, frame, codes, cards_of(encoding), np.zeros(len(frame), dtype=bool))
        assert encoding.report is not None
        report = replace(
            encoding.report, epochs=0.0, seconds=time.monotonic() - started, stop_reason="lookup_table"
        )
        encodings = {p.name: p.encoding_type for p in encoding.plans}
        return FittedTable(model, state, report, np.array([]), len(frame), encodings)

    def save(self, model: LookupModel, directory: Path) -> None:
        model.encoding.save(directory)
        model.rows.to_parquet(directory / LOOKUP_ROWS, index=False)
        np.save(directory / LOOKUP_CODES, model.codes)

    def load(self, directory: Path) -> LookupModel:
        rows = pd.read_parquet(directory / LOOKUP_ROWS)
        codes = np.load(directory / LOOKUP_CODES, allow_pickle=False)
        encoding = FlatGenerator.load(directory)
        if len(rows) != len(codes) or codes.shape[1] != len(cards_of(encoding)):
            raise EngineInputError(
                "the lookup table's rows and codes do not match; train the generator again"
            )
        return LookupModel(encoding, rows, codes)

    def row_model(self, model: LookupModel) -> FlatGenerator:
        return model.encoding

    def sample(self, job: DrawInput) -> DrawnTable:
        model: LookupModel = job.model
        tc = job.configuration
        if tc.seed_frame() is not None or (tc.sample_size is not None and tc.sample_size != len(model.rows)):
            raise EngineInputError(
                f"table {job.name!r} is a lookup table, kept as it is ({len(model.rows)} rows): it takes no seed "
                "and no sample_size other than its own row count"
            )
        frame, codes = model.rows.copy(), model.codes.copy()
        cards = cards_of(model.encoding)
        state = subject_state(job.table, frame, codes, cards, np.zeros(len(frame), dtype=bool))
        return DrawnTable(frame, codes, cards, codes, cards, job.seed_keys, state=state)
