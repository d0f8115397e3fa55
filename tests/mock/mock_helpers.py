"""Assertions shared by the mock tests (a module of its own: `conftest` names collide across test folders)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def assert_integrity(data: dict[str, pd.DataFrame], tables: dict[str, Any]) -> None:
    """Every foreign key value is a primary key of its parent (self-references may be null); primary keys unique."""
    for name, spec in tables.items():
        frame = data[name]
        pk = spec.get("primary_key")
        if pk:
            assert frame[pk].notna().all() and frame[pk].is_unique, f"{name}.{pk} not unique"
        for fk in spec.get("foreign_keys", []):
            parent = data[fk["referenced_table"]]
            keys = set(parent[tables[fk["referenced_table"]]["primary_key"]].astype(str))
            values = frame[fk["column"]]
            if fk["referenced_table"] == name:
                values = values.dropna()
            missing = set(values.astype(str)) - keys
            assert not missing and values.notna().all(), f"{name}.{fk['column']} dangles: {missing}"
