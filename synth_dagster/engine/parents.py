"""Child rows drawn knowing the generated parent they reference (non-context keys into synthesized tables).

A child table learns, as its first columns, the columns of the parent row each non-context key
references (`__parent__<key>::<parent column>`), so its model holds the joint distribution of
child and parent columns. A flat child table takes two draws:

1. the child rows as the model likes them, parent columns included: which parent profile each
   row wants;
2. per key, a profile that many rows want gets a generated parent row of its own (an equal row,
   or else the nearest unclaimed row, rewritten with the profile: so a hub airport exists in the
   generated airports because many flights want it); other rows get the nearest generated parent
   (near ties in proportion to the parents' generated popularity). Then the child rows are drawn
   again, seeded with the columns of the parents they got, so that every child column fits its
   actual parent.

A sequence table is drawn once: its rows keep what they drew and get the parent nearest to it.
Keys into lookup tables are modelled as the key itself (see `multitable.frames.lookup_key_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import RARE_THRESHOLD
from synth_dagster.engine.flat import FlatGenerator, GenerationRequest
from synth_dagster.engine.matching import (
    RowComparer,
    candidate_pool,
    closest_rows,
    distances,
    draw_weighted,
    equal_rows,
    keyed,
)

PARENT_PREFIX = "__parent__"
MAX_PARENT_COLUMNS = 16  # per key: a wide parent would crowd the child's own columns
# Child rows that must want a parent profile before it gets a parent row of its own; under value
# protection as many as the rows a value needs to be learned at all.
MIN_DEMAND = 2
MIN_DEMAND_PROTECTED = RARE_THRESHOLD


def parent_column(key: str, column: str) -> str:
    return f"{PARENT_PREFIX}{key}::{column}"


def parent_columns_of(parent: pd.DataFrame, excluded: set[str]) -> list[str]:
    """The parent columns a child learns: the parent's own columns, no keys or helper columns."""
    columns = [str(c) for c in parent.columns if c not in excluded and not str(c).startswith("__")]
    return columns[:MAX_PARENT_COLUMNS]


def taken(source: pd.Series, at: np.ndarray) -> np.ndarray:
    """`source` values at positions `at`; missing where `at` is -1."""
    found = at >= 0
    values = source.reset_index(drop=True).take(np.where(found, at, 0)).reset_index(drop=True)
    return values.where(pd.Series(found)).to_numpy()


def referenced_values(
    key: str, parent_rows: pd.DataFrame, position: pd.Series, columns: list[str]
) -> dict[str, np.ndarray]:
    """Per child row, the given columns of the parent row at `position` (NaN: no parent)."""
    at = position.fillna(-1).to_numpy().astype(np.int64)
    return {parent_column(key, c): taken(parent_rows[c], at) for c in columns}


@dataclass(frozen=True)
class ParentLink:
    """One non-context key of a child whose rows are drawn with their parent's columns."""

    key: str
    parent_table: str
    columns: dict[str, str]  # child model column -> parent column
    parent: pd.DataFrame  # the generated parent rows
    popularity: np.ndarray  # per parent row, how many children it wants (its generated degree)
    linked: np.ndarray  # per child row: has a parent (False where the key is null)
    given: np.ndarray  # per child row: position of a seeded parent, -1 where not seeded
    claimed: np.ndarray | None  # per parent row: taken by a wanted profile; None: rows stay as drawn
    min_demand: int = MIN_DEMAND


def _write_rows(frame: pd.DataFrame, rows: list[int], values: pd.DataFrame) -> None:
    """Rewrite `rows` of `frame` with `values` (one row each, same columns), in the columns' dtypes
    where the values fit (else the column becomes object)."""
    if not rows:
        return
    for column in values.columns:
        j = frame.columns.get_loc(column)
        try:
            frame.iloc[rows, j] = values[column].astype(frame[column].dtype).to_numpy()
        except (TypeError, ValueError):
            frame[column] = frame[column].astype(object)
            frame.iloc[rows, j] = values[column].to_numpy(dtype=object)


def _claim(
    wanted: pd.DataFrame,
    wanted_x: np.ndarray,
    candidates_x: np.ndarray,
    link: ParentLink,
    rng: np.random.Generator,
) -> np.ndarray:
    """Parent profiles wanted by at least `link.min_demand` child rows get parent rows of their own:
    the rows equal to the profile if the parent table has any, else the nearest row not yet
    claimed (among `candidate_pool`), overwritten with the profile. Per wanted row, its parent
    (-1: left to `closest_rows`).

    Equal rows are found first, so that no profile's rows are overwritten for another; when the
    table is too small for every profile (a handful of rows), a profile keeps one of its equal
    rows and the others are overwritten too.
    """
    claimed = link.claimed
    assert claimed is not None
    _, first, inverse, counts = np.unique(
        keyed(wanted_x), axis=0, return_index=True, return_inverse=True, return_counts=True
    )
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    demanded = np.asarray(
        [u for u in np.argsort(-counts, kind="stable") if counts[u] >= link.min_demand], dtype=np.int64
    )
    equal_order, lo, hi = equal_rows(wanted_x[first[demanded]], candidates_x)
    equal = {int(u): equal_order[lo[k] : hi[k]] for k, u in enumerate(demanded) if hi[k] > lo[k]}
    taken_rows = np.zeros(len(claimed), dtype=bool)
    for rows in equal.values():
        taken_rows[rows] = True
    if (~(claimed | taken_rows)).sum() < len(demanded) - len(equal):
        # too few rows left: keep one equal row per profile (its most popular)
        taken_rows[:] = False
        for u, rows in equal.items():
            equal[u] = rows[[int(np.argmax(link.popularity[rows]))]]
            taken_rows[equal[u]] = True
    claimed |= taken_rows
    at = np.full(len(wanted), -1, dtype=np.int64)
    slots: list[int] = []
    profiles: list[int] = []
    for u in demanded:
        rows = order[starts[u] : starts[u + 1]]
        if u in equal:
            at[rows] = draw_weighted(equal[int(u)], link.popularity, len(rows), rng)
            continue
        free = np.flatnonzero(~claimed)
        if not len(free):
            continue
        pool = free[candidate_pool(len(free), rng)]
        slot = int(pool[np.argmin(distances(wanted_x[first[u]][None, :], candidates_x[pool])[0])])
        slots.append(slot)
        profiles.append(int(first[u]))
        candidates_x[slot] = wanted_x[first[u]]
        claimed[slot] = True
        at[rows] = slot
    _write_rows(link.parent, slots, wanted.iloc[profiles].reset_index(drop=True))
    return at


def choose_parents(first: pd.DataFrame, link: ParentLink, rng: np.random.Generator) -> np.ndarray:
    """Per child row, the position of its generated parent (-1: none): seeded; or claimed for a
    profile many rows want (see `_claim`); or the one nearest to the row's parent columns."""
    chosen = link.given.copy()
    free = link.linked & (chosen < 0)
    if not free.any() or not len(link.parent):
        return chosen
    columns = list(link.columns.values())
    wanted = pd.DataFrame({p: first.loc[free, c].to_numpy() for c, p in link.columns.items()})
    comparer = RowComparer(link.parent[columns])
    wanted_x = comparer.encode(wanted)
    candidates_x = comparer.encode(link.parent[columns])
    at = np.full(len(wanted), -1, dtype=np.int64)
    if link.claimed is not None:
        at = _claim(wanted, wanted_x, candidates_x, link, rng)
    rest = at < 0
    if rest.any():
        at[rest] = closest_rows(wanted_x[rest], candidates_x, link.popularity, rng)
    chosen[free] = at
    return chosen


def assign_parents(
    rows: pd.DataFrame, links: list[ParentLink], rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Per key, the position of every row's generated parent (-1: none)."""
    return {link.key: choose_parents(rows, link, rng) for link in links}


def draw_with_parents(
    model: FlatGenerator,
    request: GenerationRequest,
    first: pd.DataFrame,
    codes: np.ndarray,
    links: list[ParentLink],
    carried: list[str],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    """The second draw: `first` (the first draw) decides which parent each row gets, then the rows
    are drawn again seeded with those parents' columns and the `carried` columns of `first`."""
    seed = first[carried].copy()
    chosen = assign_parents(first, links, rng)
    for link in links:
        for child_column, column in link.columns.items():
            seed[child_column] = taken(link.parent[column], chosen[link.key])
    again = replace(request, seed=seed, size=None, rebalancing=None, random_state=int(rng.integers(2**31)))
    frame, codes = model.sample_with_codes(again)
    return frame, codes, chosen


def popularity_of(parent: pd.DataFrame, column: str | None) -> np.ndarray:
    if column is None or column not in parent:
        return np.zeros(len(parent))
    return pd.to_numeric(parent[column], errors="coerce").fillna(0).clip(lower=0).to_numpy(dtype=float)


def seeded_positions(given: pd.Series | None, parent_keys: pd.Series, n: int) -> np.ndarray:
    """Per child row, the position of the parent a seed names by key (-1: not seeded)."""
    out = np.full(n, -1, dtype=np.int64)
    if given is None:
        return out
    lookup = pd.Series(np.arange(len(parent_keys)), index=pd.Index(parent_keys.to_numpy()))
    at = given.reset_index(drop=True).reindex(range(n)).map(lookup)
    found = at.notna().to_numpy()
    out[found] = at[found].astype(np.int64).to_numpy()
    return out


__all__ = [
    "PARENT_PREFIX",
    "ParentLink",
    "assign_parents",
    "draw_with_parents",
    "parent_column",
    "parent_columns_of",
    "popularity_of",
    "referenced_values",
    "seeded_positions",
    "taken",
]
