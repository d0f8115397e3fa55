"""Planning: tables in key order (parents first), how many rows each root table gets, how many
children a parent gets, and the batches (one LLM call each) of a table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synth_dagster.mock.errors import MockSpecError

if TYPE_CHECKING:
    import pandas as pd

    from synth_dagster.mock.spec import MockSpec

__all__ = ["DEFAULT_CHILDREN", "MAX_CHILDREN", "Batch", "children_range", "sample_sizes", "table_order"]

DEFAULT_CHILDREN = (1, 3)  # "a few rows per parent" when the context key has no prompt
MAX_CHILDREN = 20


def table_order(spec: MockSpec) -> list[str]:
    """Tables with every referenced table before its referencing ones (self-references aside), in
    the order of the spec where free. A cycle raises MockSpecError naming its tables."""
    deps = {
        name: {fk.referenced_table for fk in t.foreign_keys if fk.referenced_table != name}
        for name, t in spec.tables.items()
    }
    order: list[str] = []
    while len(order) < len(deps):
        ready = [t for t in deps if t not in order and deps[t] <= set(order)]
        if not ready:
            cycle = _find_cycle({t: d for t, d in deps.items() if t not in order})
            raise MockSpecError(
                "the foreign keys form a cycle: " + " -> ".join(cycle) + "; remove one of these "
                "foreign keys (a table may reference itself, but tables may not reference each other in a loop)"
            )
        order.append(ready[0])
    return order


def _find_cycle(deps: dict[str, set[str]]) -> list[str]:
    start = next(iter(deps))
    path = [start]
    while True:
        nxt = sorted(d for d in deps[path[-1]] if d in deps)[0]
        if nxt in path:
            return [*path[path.index(nxt) :], nxt]
        path.append(nxt)


_BETWEEN = re.compile(r"(\d+)\s*(?:and|to|-|–)\s*(\d+)")
_AT_MOST = re.compile(r"(?:at most|up to|no more than|maximum of|max\.?|maximum)\s*(\d+)")
_AT_LEAST = re.compile(r"(?:at least|minimum of|min\.?|minimum)\s*(\d+)")
_NUMBER = re.compile(r"(\d+)")


def children_range(prompt: str | None) -> tuple[int, int]:
    """How many children a parent gets, read from the foreign key's prompt: "between 2 and 3",
    "1-2", "at most 3", "at least 2", "exactly 4" / "4"; (1, 3) when it says nothing. At most 20."""
    text = (prompt or "").lower()
    if m := _BETWEEN.search(text):
        lo, hi = sorted((int(m.group(1)), int(m.group(2))))
    elif m := _AT_MOST.search(text):
        lo, hi = 0, int(m.group(1))
    elif m := _AT_LEAST.search(text):
        lo, hi = int(m.group(1)), int(m.group(1)) + 2
    elif m := _NUMBER.search(text):
        lo = hi = int(m.group(1))
    else:
        lo, hi = DEFAULT_CHILDREN
    return min(lo, MAX_CHILDREN), min(max(hi, lo), MAX_CHILDREN)


def sample_sizes(
    spec: MockSpec, sample_size: int | Mapping[str, int], existing: Mapping[str, pd.DataFrame]
) -> dict[str, int]:
    """Rows per root table (one without a context key and without existing data)."""
    roots = [t for t, s in spec.tables.items() if s.context_key(t) is None and t not in existing]
    if isinstance(sample_size, Mapping):
        unknown = sorted(set(sample_size) - set(roots))
        if unknown:
            raise MockSpecError(
                f"sample_size names {unknown}, which are not subject tables generated from scratch "
                f"(those are {roots}); child tables get their rows from the foreign key prompt"
            )
        sizes = {t: sample_size.get(t, 4) for t in roots}
    else:
        sizes = dict.fromkeys(roots, sample_size)
    bad = {t: n for t, n in sizes.items() if not isinstance(n, int) or isinstance(n, bool) or n < 1}
    if bad:
        raise MockSpecError(f"sample_size must be a whole number of rows >= 1; got {bad}")
    return sizes


@dataclass
class Batch:
    """One LLM call's worth of rows of one table.

    `slots` are the rows to fill: each is the given part of the row (existing values being enriched,
    or {} for a new row). `count` is None for children of a parent, where the model chooses how many
    within `children`; the first answer then fixes the slots.
    """

    table: str
    index: int
    slots: list[dict[str, Any]] | None
    parent: dict[str, Any] | None = None
    children: tuple[int, int] = DEFAULT_CHILDREN
    candidates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # column -> parent rows
    candidate_keys: dict[str, list[Any]] = field(default_factory=dict)  # column -> their keys

    @property
    def enriching(self) -> bool:
        return bool(self.slots) and any(self.slots)
