"""Keys of generated tables: unique primary keys, and foreign keys that point at generated parents."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth_dagster.domain import SyntheticTableConfiguration
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.keys import generate_keys
from synth_dagster.engine.matching import KeyMatcher
from synth_dagster.engine.multitable.frames import HAS_PREFIX, LOOKUP_KEY_PREFIX
from synth_dagster.engine.multitable.roles import ReferenceLink, TableRoles
from synth_dagster.engine.multitable.state import TableState
from synth_dagster.engine.workspace import matcher_dir


def assign_foreign_keys(
    workspace: Path,
    name: str,
    roles: TableRoles,
    tc: SyntheticTableConfiguration | None,
    frame: pd.DataFrame,
    states: Mapping[str, TableState],
    rng: np.random.Generator,
) -> None:
    """Every non-context key of a generated table: kept where seeded or already drawn (a lookup key
    the model learned, a parent a row was drawn with), else matched by the key's matcher."""
    temperature = tc.sampling_temperature if tc is not None and tc.sampling_temperature is not None else 1.0
    for link in roles.non_context:
        frame[link.column] = _reference_values(workspace, name, link, frame, states, rng, temperature)


def _reference_values(
    workspace: Path,
    name: str,
    link: ReferenceLink,
    frame: pd.DataFrame,
    states: Mapping[str, TableState],
    rng: np.random.Generator,
    temperature: float,
) -> pd.Series:
    column, parent_name = link.column, link.parent
    parent = states[parent_name]
    present = (
        frame[HAS_PREFIX + column].astype(bool).to_numpy()
        if HAS_PREFIX + column in frame
        else np.ones(len(frame), dtype=bool)
    )
    values = pd.Series([None] * len(frame), dtype=object)
    if link.modelled and LOOKUP_KEY_PREFIX + column in frame:
        # the model drew the key itself; only its rare tokens still need a parent
        drawn = frame[LOOKUP_KEY_PREFIX + column]
        position = parent.positions(drawn, as_text=True)
        found = position.notna().to_numpy()
        values[found] = parent.keys.to_numpy()[position[found].astype(np.int64).to_numpy()]
        present = drawn.notna().to_numpy() & ~found
    given = frame[column] if column in frame else None
    keep_given = np.zeros(len(frame), dtype=bool)
    if given is not None:
        keep_given = given.isin(parent.keys).to_numpy()
        present = present & ~keep_given
    directory = matcher_dir(workspace, name, column)
    if present.any():
        if len(parent.keys) == 0:
            raise EngineInputError(
                f"table {name!r}: its rows reference {parent_name!r}, but no {parent_name!r} rows were "
                "generated; give that table a size of at least 1"
            )
        generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
        if directory.exists():
            chosen = KeyMatcher.load(directory).assign(
                states[name].codes[present], parent.codes, generator, temperature
            )
        else:  # the training data had no linked rows: any parent fits
            chosen = rng.integers(0, len(parent.keys), int(present.sum()))
        values[present] = parent.keys.to_numpy()[chosen]
    if given is not None:
        values[keep_given] = given[keep_given].to_numpy()
    return values


def unique_keys(
    info: dict[str, Any],
    n: int,
    given: pd.Series | None,
    rng: np.random.Generator,
    span: tuple[int, int] | None = None,
) -> pd.Series:
    """n unique primary keys; seeded rows keep theirs, generated ones never collide with them.

    `span` = (offset, total): the rows are one chunk of a larger draw (never seeded)."""
    if span is not None:
        return generate_keys(info, n, rng, offset=span[0], total=span[1])
    if given is None or given.notna().sum() == 0:
        return generate_keys(info, n, rng)
    given = given.reindex(range(n)) if len(given) != n else given.reset_index(drop=True)
    taken = set(given.dropna().tolist())
    if len(taken) != int(given.notna().sum()):
        raise EngineInputError("seeded primary key values must be unique")
    need = int(given.isna().sum())
    candidates = generate_keys(info, need + len(taken), rng)
    fresh = candidates[~candidates.isin(taken)].head(need).to_numpy()
    values = given.astype(object).copy()
    values[given.isna()] = fresh
    return cast(values, info["dtype"])


def cast(values: pd.Series, dtype: str) -> pd.Series:
    """Values in a key column's source dtype where they fit it (nullable ints for empty keys)."""
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        if values.isna().any() and dtype.startswith("int"):
            try:
                return values.astype("Int64")
            except (TypeError, ValueError):
                pass
        return values
