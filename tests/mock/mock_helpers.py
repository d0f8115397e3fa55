"""Assertions shared by the mock tests (a module of its own: `conftest` names collide across test folders)."""

from __future__ import annotations

import threading
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


def assert_cancelled_after_first_batch(tables: dict[str, Any], **options: Any) -> None:
    """Generation one batch at a time, cancelled from the progress callback once the first batch is
    done: raises MockCancelledError and returns nothing."""
    import pytest

    from synth_dagster import mock

    cancel = threading.Event()

    def on_progress(**kw: Any) -> None:
        if kw["progress"] >= 1:
            cancel.set()

    with pytest.raises(mock.MockCancelledError):
        mock.generate(
            tables=tables,
            sample_size=5,
            batch_size=1,
            n_workers=1,
            cancel=cancel,
            progress_callback=on_progress,
            **options,
        )
    assert cancel.is_set()
