"""Training from connector locations (SQLite, local files) and delivering to a destination connector."""

from __future__ import annotations

import sqlite3

import dagster as dg
import pandas as pd
import pytest
from synth_helpers import FAST_MODEL, metadata_of

from synth_dagster.integration import (
    ConnectorDestination,
    ConnectorResource,
    SourceTable,
    SyntheticData,
    SynthResource,
    build_synthetic_data_assets,
)


def test_sqlite_source_to_sqlite_destination(tmp_path, flights_frame) -> None:
    database = tmp_path / "warehouse.db"
    with sqlite3.connect(database) as con:
        flights_frame.to_sql("flights", con, index=False)
    synth = build_synthetic_data_assets(
        SyntheticData(
            name="warehouse_flights",
            tables=[SourceTable("flights", connector="source_db", location="flights")],
            model=FAST_MODEL,
            random_state=3,
            size=80,
            # about the connectors, not quality: on 300 rows the DCR share is measured on 30 holdout
            # rows and swings by about 0.1, enough to trip the default 0.6 threshold
            checks=None,
            destination=ConnectorDestination(connector="target_db", location="synthetic_{table}"),
        )
    )
    resources = {
        "synth": SynthResource(local_dir=str(tmp_path / "store")),
        # READ_PROTECTED: the generator trains on rows nobody may read through this connector
        "source_db": ConnectorResource(type="SQLITE", config={"database": str(database)}),
        "target_db": ConnectorResource(
            type="SQLITE", access_type="WRITE_DATA", config={"database": str(tmp_path / "synthetic.db")}
        ),
    }
    result = dg.materialize(list(synth), resources=resources)
    generator = metadata_of(result, "warehouse_flights_generator")
    assert generator["rows"] == 300 and generator["accuracy"] > 0
    table = metadata_of(result, "warehouse_flights_synthetic")
    assert table["dagster/row_count"] == 80
    assert table["location"] == "synthetic_flights"
    with sqlite3.connect(tmp_path / "synthetic.db") as con:
        delivered = pd.read_sql("SELECT * FROM synthetic_flights", con)
    assert len(delivered) == 80
    assert list(delivered.columns) == list(flights_frame.columns)


def test_local_file_source(tmp_path, flights_frame) -> None:
    (tmp_path / "landing").mkdir()
    flights_frame.to_parquet(tmp_path / "landing" / "flights.parquet")
    synth = build_synthetic_data_assets(
        SyntheticData(
            name="files",
            tables=[SourceTable("flights", connector="lake", location="landing/flights.parquet", limit=200)],
            model=FAST_MODEL,
            size=30,
            checks=None,
            reports=False,
        )
    )
    resources = {
        "synth": SynthResource(local_dir=str(tmp_path / "store")),
        "lake": ConnectorResource(type="FILE_UPLOAD", config={"basePath": str(tmp_path)}),
    }
    result = dg.materialize(list(synth), resources=resources)
    assert metadata_of(result, "files_generator")["rows"] == 200  # limit applies
    assert metadata_of(result, "files_synthetic")["dagster/row_count"] == 30
    assert {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()} == {
        "files_generator",
        "files_synthetic",
    }


def test_missing_connector_resource_is_a_definition_error(tmp_path) -> None:
    synth = build_synthetic_data_assets(
        SyntheticData(name="x", tables=[SourceTable("t", connector="nowhere", location="t")])
    )
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="nowhere"):
        dg.Definitions.validate_loadable(
            dg.Definitions(assets=list(synth), resources={"synth": SynthResource()})
        )
