"""During generation: which generated parent rows the rows of a table get, for keys whose child
rows are drawn with their parent's columns (see `parents`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synth_dagster.domain import SyntheticTableConfiguration
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.multitable.frames import DEGREE_PREFIX, HAS_PREFIX
from synth_dagster.engine.multitable.state import TableState
from synth_dagster.engine.parents import (
    MIN_DEMAND,
    MIN_DEMAND_PROTECTED,
    ParentLink,
    popularity_of,
    seeded_positions,
    taken,
)

if TYPE_CHECKING:
    from synth_dagster.engine.multitable.generation import TrainedGenerator


class ParentDraws:
    """The tables generated so far, and which rows of each parent children have claimed."""

    def __init__(
        self,
        generator: TrainedGenerator,
        out: Mapping[str, pd.DataFrame],
        states: Mapping[str, TableState],
        by_name: Mapping[str, SyntheticTableConfiguration | None],
    ):
        self.generator = generator
        self.out = out
        self.states = states
        self.claimable = self._claimable(by_name)

    def _claimable(
        self, by_name: Mapping[str, SyntheticTableConfiguration | None]
    ) -> dict[str, np.ndarray | None]:
        """Parent tables whose generated rows children may claim (see `parents`): flat tables
        without context children and without a seed; the masks are made when first needed."""
        out: dict[str, np.ndarray | None] = {}
        for name in self.generator.order:
            roles = self.generator.roles(name)
            tc = by_name.get(name)
            seeded = tc is not None and tc.seed_frame() is not None
            if roles.kind != "flat" or roles.children or seeded:
                out[name] = None
        return out

    def _claimed_rows(self, parent: str, n: int) -> np.ndarray | None:
        if parent not in self.claimable:
            self.claimable[parent] = np.zeros(n, dtype=bool)
        return self.claimable[parent]

    def links(self, name: str, frame: pd.DataFrame, seed_keys: Mapping[str, pd.Series]) -> list[ParentLink]:
        """The keys of a table whose rows are drawn with their generated parent's columns."""
        links = []
        for link in self.generator.roles(name).non_context:
            if not link.parent_columns:
                continue
            column, parent = link.column, link.parent
            has = HAS_PREFIX + column
            linked = frame[has].astype(bool).to_numpy() if has in frame else np.ones(len(frame), dtype=bool)
            if linked.any() and len(self.states[parent].keys) == 0:
                raise EngineInputError(
                    f"table {name!r}: its rows reference {parent!r}, but no {parent!r} rows were "
                    "generated; give that table a size of at least 1"
                )
            protected = self.generator.table(parent).options.value_protection
            links.append(
                ParentLink(
                    key=column,
                    parent_table=parent,
                    columns=link.parent_columns,
                    parent=self.out[parent],
                    popularity=popularity_of(self.out[parent], f"{DEGREE_PREFIX}{name}.{column}"),
                    linked=linked,
                    given=seeded_positions(seed_keys.get(column), self.states[parent].keys, len(frame)),
                    claimed=self._claimed_rows(parent, len(self.out[parent])),
                    min_demand=MIN_DEMAND_PROTECTED if protected else MIN_DEMAND,
                )
            )
        return links

    def keep(
        self, links: list[ParentLink], chosen: Mapping[str, np.ndarray], seed_keys: dict[str, pd.Series]
    ) -> None:
        """The keys of the parents the rows got, as if seeded (foreign key assignment keeps them)."""
        for link in links:
            keys = self.states[link.parent_table].keys.astype(object)
            seed_keys[link.key] = pd.Series(taken(keys, chosen[link.key]), dtype=object)
            self._recode_claimed(link, self.states[link.parent_table])

    def _recode_claimed(self, link: ParentLink, state: TableState) -> None:
        """Claimed parent rows were rewritten: their codes follow, for later tables that read them."""
        if link.claimed is None or not link.claimed.any():
            return
        rows = np.flatnonzero(link.claimed)
        state.codes[rows] = self.generator.table(link.parent_table).encode(link.parent.iloc[rows])
