"""The model-family seam: how one table is trained and drawn, behind one small interface.

Multi-table training and generation call a table's family and never branch on its internals:
`fit` learns a table from a `TrainingInput`, `save` / `load` persist the model in the table's
workspace folder, `sample` draws the table's rows from a `DrawInput`, and `row_model` is the flat
model whose codes other tables read (a parent's context, a key matcher's parent). A new kind of
model (a language model, a differentially private variant) adds a module with one more family.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from synth_dagster.domain import GeneratorConfig, SourceTableConfig, SyntheticTableConfiguration
from synth_dagster.engine.flat import FlatGenerator, FlatOptions
from synth_dagster.engine.multitable.roles import TableKind, TableRoles
from synth_dagster.engine.multitable.state import TableState
from synth_dagster.engine.progress import ProgressCallback, StopCheck
from synth_dagster.engine.training import TrainingReport

if TYPE_CHECKING:
    from synth_dagster.engine.multitable.draws import ParentDraws


@dataclass(frozen=True)
class TrainingInput:
    """Everything a family may read to learn one table; parents are trained already."""

    config: GeneratorConfig
    table: SourceTableConfig
    frame: pd.DataFrame  # the table's rows, orphans handled
    frames: Mapping[str, pd.DataFrame]  # every table's rows, orphans handled
    trained: Mapping[str, TableState]  # the tables trained before this one
    options: FlatOptions
    parent_links: Mapping[str, dict[str, str]]  # conditioned keys -> child column -> parent column
    rng: np.random.Generator
    on_progress: ProgressCallback
    should_stop: StopCheck
    warm_start: Path | None  # this table's folder in an earlier workspace, if training continues


@dataclass(frozen=True)
class FittedTable:
    """What a family hands back: the model, the table's state for later tables, and its figures."""

    model: Any
    state: TableState
    report: TrainingReport
    holdout: np.ndarray  # index labels of the rows held out for validation
    rows: int  # rows the model learned from (training and validation)
    encodings: dict[str, str]
    language: dict[str, Any] | None = None  # the language model's figures (see TableSummary)


@dataclass
class DrawInput:
    """Everything a family may read to draw one table; parents are drawn already."""

    name: str
    table: SourceTableConfig
    roles: TableRoles
    model: Any
    configuration: SyntheticTableConfiguration
    training_rows: int
    is_probe: bool
    rng: np.random.Generator
    seed: pd.DataFrame | None  # the seed's model columns
    seed_keys: dict[str, pd.Series]  # the seed's key columns
    out: Mapping[str, pd.DataFrame]  # the tables drawn so far
    states: Mapping[str, TableState]
    parents: ParentDraws
    on_progress: ProgressCallback

    @property
    def temperature(self) -> float:
        t = self.configuration.sampling_temperature
        return t if t is not None else 1.0

    @property
    def top_p(self) -> float:
        p = self.configuration.sampling_top_p
        return p if p is not None else 1.0


@dataclass
class DrawnTable:
    """Rows of one table (without their primary key yet) and the codes later tables read."""

    frame: pd.DataFrame
    codes: np.ndarray
    cards: tuple[int, ...]
    ancestry: np.ndarray
    ancestry_cards: tuple[int, ...]
    seed_keys: dict[str, pd.Series]
    state: TableState | None = None  # set when the family keeps the table's own keys (lookup)


class ModelFamily(Protocol):
    kind: TableKind

    def fit(self, job: TrainingInput) -> FittedTable: ...

    def save(self, model: Any, directory: Path) -> None: ...

    def load(self, directory: Path) -> Any: ...

    def sample(self, job: DrawInput) -> DrawnTable: ...

    def row_model(self, model: Any) -> FlatGenerator: ...
