"""A trained generator loaded from its workspace, drawing synthetic tables parents first."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
    SyntheticTableConfiguration,
)
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat import FlatGenerator
from synth_dagster.engine.matching import KeyMatcher
from synth_dagster.engine.multitable.draws import ParentDraws
from synth_dagster.engine.multitable.families import DrawInput
from synth_dagster.engine.multitable.foreign_keys import assign_foreign_keys, cast, unique_keys
from synth_dagster.engine.multitable.frames import (
    CONSTANT_COLUMN,
    DEGREE_PREFIX,
    HAS_PREFIX,
    LOOKUP_KEY_PREFIX,
    SEQLEN_PREFIX,
)
from synth_dagster.engine.multitable.registry import family
from synth_dagster.engine.multitable.roles import TableRoles
from synth_dagster.engine.multitable.state import TableState
from synth_dagster.engine.multitable.summary import MANIFEST, TableSummary
from synth_dagster.engine.progress import ProgressCallback, for_table, no_progress
from synth_dagster.engine.workspace import matcher_dir, table_dir


class TrainedGenerator:
    """A generator loaded from its workspace, ready to draw synthetic tables."""

    def __init__(self, workspace: str | Path, device: str | None = None):
        """`device`: where flat tables are drawn ("auto", "cpu", "cuda[:N]"); None keeps the CPU."""
        self.workspace = Path(workspace)
        self.device = device
        manifest = json.loads((self.workspace / MANIFEST).read_text())
        self.config = GeneratorConfig.model_validate(manifest["config"])
        self.summaries = {k: TableSummary(**v) for k, v in manifest["tables"].items()}
        self.order: list[str] = manifest.get("order") or list(self.summaries)
        self._models: dict[str, Any] = {}
        self._roles: dict[str, TableRoles] = {}

    def _check_name(self, name: str) -> None:
        if name not in self.summaries:
            raise EngineInputError(
                f"the generator has no table {name!r}; its tables are {list(self.summaries)}"
            )

    def roles(self, name: str) -> TableRoles:
        self._check_name(name)
        if name not in self._roles:
            self._roles[name] = TableRoles.load(table_dir(self.workspace, name), name)
        return self._roles[name]

    def model(self, name: str) -> Any:
        """The model of a table, as its family stores it."""
        self._check_name(name)
        if name not in self._models:
            kind = self.roles(name).kind
            self._models[name] = family(kind).load(table_dir(self.workspace, name))
            if (
                self.device is not None and kind == "flat"
            ):  # the tabular part; a language model stays on the CPU
                family(kind).row_model(self._models[name]).to_device(self.device)
        return self._models[name]

    def table(self, name: str) -> FlatGenerator:
        """The row model of a table (for a sequence table: the model of its rows)."""
        return family(self.roles(name).kind).row_model(self.model(name))

    def check_table(self, name: str) -> None:
        """Load everything generation reads of a table (see `workspace.check_workspace`)."""
        roles = self.roles(name)
        self.model(name)  # weights, column plans and, for a lookup table, its rows
        for link in roles.non_context:
            directory = matcher_dir(self.workspace, name, link.column)
            if directory.exists():
                KeyMatcher.load(directory)

    def holdout_index(self, name: str) -> np.ndarray:
        """Index labels of the rows held out for validation (a sequence table: its held-out parents' rows)."""
        roles = self.roles(name)
        if roles.holdout_index is not None:
            return np.asarray(roles.holdout_index)
        return self.table(name).holdout_index

    def generate(
        self,
        config: SyntheticDatasetConfig | SyntheticProbeConfig | Mapping[str, Any] | None = None,
        *,
        is_probe: bool = False,
        on_progress: ProgressCallback = no_progress,
        spans: Mapping[str, tuple[int, int]] | None = None,
    ) -> dict[str, pd.DataFrame]:
        """Every table, parents first. `spans`: table -> (key offset, total keys) when this draw is one
        chunk of a larger one (see `chunks.py`), so that primary keys stay unique across chunks."""
        if config is None:
            config = SyntheticProbeConfig() if is_probe else SyntheticDatasetConfig()
        elif isinstance(config, Mapping):
            config = (SyntheticProbeConfig if is_probe else SyntheticDatasetConfig).model_validate(config)
        by_name = {t.name: t.configuration for t in (config.tables or [])}
        unknown = sorted(set(by_name) - set(self.summaries))
        if unknown:
            raise EngineInputError(
                f"the synthetic config names tables {unknown} that the generator does not have: {list(self.summaries)}"
            )
        rng = np.random.default_rng(config.random_state)
        out: dict[str, pd.DataFrame] = {}
        states: dict[str, TableState] = {}
        parents = ParentDraws(self, out, states, by_name)
        for name in self.order:
            tc = by_name.get(name) or SyntheticTableConfiguration()
            span = spans.get(name) if spans else None
            out[name], states[name] = self._generate_table(
                name, tc, is_probe, rng, parents, on_progress, span
            )
        for name in self.order:
            assign_foreign_keys(
                self.workspace, name, self.roles(name), by_name.get(name), out[name], states, rng
            )
        return {name: self._finish(name, out[name]) for name in self.summaries}

    def _seed(
        self, name: str, tc: SyntheticTableConfiguration
    ) -> tuple[pd.DataFrame | None, dict[str, pd.Series]]:
        """The seed's model columns, and its key columns apart."""
        seed = tc.seed_frame()
        if seed is None:
            return None, {}
        if not isinstance(seed, pd.DataFrame):
            seed = pd.DataFrame(seed)
        roles = self.roles(name)
        unknown = [c for c in seed.columns if c not in roles.columns]
        if unknown:
            raise EngineInputError(
                f"table {name!r}: seed columns {unknown} are not columns of the table; its columns are {roles.columns}"
            )
        seed = seed.reset_index(drop=True)
        keys = {k: seed[k] for k in roles.key_columns if k in seed.columns}
        model_seed = seed.drop(columns=list(keys))
        for link in roles.non_context:
            given = keys.get(link.column)
            if link.modelled and given is not None and given.notna().all():
                # a seeded key into a lookup table conditions the rest of its row, as any seeded value
                model_seed[LOOKUP_KEY_PREFIX + link.column] = given.astype(str).to_numpy()
        return model_seed, keys

    def _generate_table(
        self,
        name: str,
        tc: SyntheticTableConfiguration,
        is_probe: bool,
        rng: np.random.Generator,
        parents: ParentDraws,
        on_progress: ProgressCallback,
        span: tuple[int, int] | None = None,
    ) -> tuple[pd.DataFrame, TableState]:
        roles = self.roles(name)
        seed, seed_keys = self._seed(name, tc)
        job = DrawInput(
            name=name,
            table=self.config.get_table(name),
            roles=roles,
            model=self.model(name),
            configuration=tc,
            training_rows=self.summaries[name].rows,
            is_probe=is_probe,
            rng=rng,
            seed=seed,
            seed_keys=seed_keys,
            out=parents.out,
            states=parents.states,
            parents=parents,
            on_progress=for_table(on_progress, name),
        )
        drawn = family(roles.kind).sample(job)
        if drawn.state is not None:  # kept as it is, real keys included
            return drawn.frame, drawn.state
        frame, seed_keys = drawn.frame, drawn.seed_keys
        keys_out = None
        for key, info in roles.keys.items():
            values = unique_keys(info, len(frame), seed_keys.get(key), rng, span)
            frame.insert(0, key, values)
            keys_out = values
        context = roles.context.column if roles.context else None
        for column, values in seed_keys.items():
            if column not in roles.keys and column != context:
                frame[column] = (
                    values.reindex(range(len(frame))) if len(values) != len(frame) else values.to_numpy()
                )
        state = TableState(
            keys=keys_out if keys_out is not None else pd.Series(np.arange(len(frame))),
            codes=drawn.codes,
            cards=drawn.cards,
            ancestry=drawn.ancestry,
            ancestry_cards=drawn.ancestry_cards,
            validation=np.zeros(len(frame), dtype=bool),
            labels=np.arange(len(frame)),
        )
        return frame, state

    def _finish(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Source column order and dtypes; helper columns dropped."""
        roles = self.roles(name)
        helpers = (SEQLEN_PREFIX, HAS_PREFIX, DEGREE_PREFIX, LOOKUP_KEY_PREFIX, CONSTANT_COLUMN)
        frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith(helpers)])
        for column in [
            *(r.column for r in roles.non_context),
            *([roles.context.column] if roles.context else []),
        ]:
            dtype = roles.dtypes.get(column)
            if dtype:
                frame[column] = cast(frame[column], dtype)
        return frame[roles.columns].reset_index(drop=True)
