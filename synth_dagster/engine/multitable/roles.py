"""The typed record of a table's roles in a workspace (`keys.json`): columns, keys and links.

Generation reads what a table is (flat, sequence or lookup), which columns it has, its primary
key's pattern, its context parent, its non-context links and its children from here, never from
string-keyed dicts. Workspaces of earlier versions hold fewer fields; they load with defaults, and a
file that is no roles record fails with a message saying to train again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from synth_dagster.engine.errors import EngineInputError

ROLES_FILE = "keys.json"
TableKind = Literal["flat", "sequence", "lookup"]
KINDS: tuple[TableKind, ...] = ("flat", "sequence", "lookup")


@dataclass(frozen=True)
class ContextLink:
    """The context foreign key of a sequence table."""

    column: str
    parent: str


@dataclass(frozen=True)
class ReferenceLink:
    """A non-context foreign key. `modelled`: a key into a lookup table, learned as a column of the
    table's model; `parent_columns`: the child model's columns of the referenced parent (child
    column -> parent column, see `parents`)."""

    column: str
    parent: str
    modelled: bool = False
    parent_columns: dict[str, str] = field(default_factory=dict)


@dataclass
class TableRoles:
    columns: list[str]
    keys: dict[str, dict[str, Any]]  # primary key column -> its pattern (`keys.analyze_key`)
    kind: TableKind = "flat"
    context: ContextLink | None = None
    non_context: list[ReferenceLink] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    holdout_index: list[Any] | None = None

    @property
    def key_columns(self) -> list[str]:
        """Every key column: primary key, non-context keys, context key."""
        keys = [*self.keys, *(link.column for link in self.non_context)]
        return keys + ([self.context.column] if self.context else [])

    def save(self, directory: Path) -> None:
        (directory / ROLES_FILE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, directory: Path, table: str) -> TableRoles:
        try:
            data = json.loads((directory / ROLES_FILE).read_text())
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise EngineInputError(
                f"table {table!r}: its workspace record {ROLES_FILE} cannot be read ({exc}); the generator "
                "was saved by an incompatible version, train it again"
            ) from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableRoles:
        # workspaces of single-table engine versions hold columns and keys only
        kind = data.get("kind", "flat")
        if kind not in KINDS:
            raise ValueError(f"unknown table kind {kind!r}")
        context = data.get("context")
        return cls(
            columns=list(data["columns"]),
            keys={str(k): dict(v) for k, v in data["keys"].items()},
            kind=kind,
            context=ContextLink(**context) if context else None,
            non_context=[ReferenceLink(**link) for link in data.get("non_context") or []],
            children=list(data.get("children") or []),
            dtypes=dict(data.get("dtypes") or {}),
            holdout_index=data.get("holdout_index"),
        )


def json_labels(index: np.ndarray) -> list[Any]:
    """Index labels as JSON values."""
    return [int(i) if isinstance(i, np.integer | int) else str(i) for i in index]
