"""ConnectorResource and ConnectorIOManager in real Dagster runs (SQLite, local files, PostgreSQL)."""

from __future__ import annotations

import socket
import uuid

import dagster as dg
import pandas as pd
import pytest

from synth_dagster.connectors import AccessDeniedError, create_connector
from synth_dagster.integration.connectors import ConnectorIOManager, ConnectorResource

SECRET = "io-manager-s3cret-value"


def _pg_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _frame(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(n),
            "amount": [1.5 * i for i in range(n)],
            "name": pd.Series([f"n{i}" for i in range(n)], dtype="str"),
            "score": pd.array([i if i % 2 else None for i in range(n)], dtype="Int64"),
        }
    )


def _materialization(result: dg.ExecuteInProcessResult, key: str) -> dict:
    events = result.asset_materializations_for_node(key)
    assert events, f"no materialization of {key}"
    return dict(events[-1].metadata)


@pytest.fixture
def sqlite_resource(tmp_path) -> ConnectorResource:
    return ConnectorResource(
        type="SQLITE", access_type="WRITE_DATA", config={"database": str(tmp_path / "io.db")}
    )


def test_frame_round_trip_with_metadata(sqlite_resource: ConnectorResource) -> None:
    seen: dict[str, pd.DataFrame] = {}

    @dg.asset(io_manager_key="db")
    def customers() -> pd.DataFrame:
        return _frame()

    @dg.asset
    def report(customers: pd.DataFrame) -> None:
        seen["customers"] = customers

    io = ConnectorIOManager(connector=sqlite_resource, location_prefix="main")
    result = dg.materialize([customers, report], resources={"db": io})
    assert result.success
    pd.testing.assert_frame_equal(seen["customers"], _frame())
    metadata = _materialization(result, "customers")
    assert metadata["dagster/row_count"].value == 5
    schema = metadata["dagster/column_schema"].schema
    assert [c.name for c in schema.columns] == ["id", "amount", "name", "score"]
    assert schema.columns[3].type == "Int64" and schema.columns[3].constraints.nullable
    assert metadata["location"].value == "main.customers"
    assert sqlite_resource.get_connector().locations("main") == ["main.customers"]

    # materializing again replaces the table
    assert dg.materialize([customers], resources={"db": io}).success
    assert len(sqlite_resource.read_data("main.customers")) == 5


@pytest.mark.parametrize("storage", [False, True])
def test_multi_table_output(tmp_path, storage: bool) -> None:
    if storage:
        resource = ConnectorResource(
            type="FILE_UPLOAD", access_type="WRITE_DATA", config={"basePath": str(tmp_path)}
        )
        prefix = "synthetic"
    else:
        resource = ConnectorResource(
            type="SQLITE", access_type="WRITE_DATA", config={"database": str(tmp_path / "m.db")}
        )
        prefix = "main"
    loaded: dict[str, dict[str, pd.DataFrame]] = {}
    tables = {"customers": _frame(3), "orders": _frame(7)}

    @dg.asset(io_manager_key="db")
    def shop() -> dict[str, pd.DataFrame]:
        return tables

    @dg.asset
    def check(shop: dict[str, pd.DataFrame]) -> None:
        loaded["shop"] = shop

    result = dg.materialize(
        [shop, check], resources={"db": ConnectorIOManager(connector=resource, location_prefix=prefix)}
    )
    assert result.success
    assert sorted(loaded["shop"]) == ["customers", "orders"]
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(loaded["shop"][name], frame)
    metadata = _materialization(result, "shop")
    assert metadata["dagster/row_count"].value == 10
    assert metadata["orders/row_count"].value == 7
    assert [c.name for c in metadata["customers/column_schema"].schema.columns][0] == "id"
    expected = "synthetic/shop/orders.parquet" if storage else "main.shop__orders"
    assert metadata["orders/location"].value == expected


def test_explicit_location_and_upstream_load_without_instance_metadata(tmp_path) -> None:
    resource = ConnectorResource(
        type="FILE_UPLOAD", access_type="WRITE_DATA", config={"basePath": str(tmp_path)}
    )
    io = ConnectorIOManager(connector=resource)

    @dg.asset(io_manager_key="files", metadata={"location": "exports/people.csv"})
    def people() -> pd.DataFrame:
        return _frame(4)

    assert dg.materialize([people], resources={"files": io}).success
    back = resource.read_data("exports/people.csv")
    assert list(back["id"]) == [0, 1, 2, 3]


@pytest.mark.skipif(not _pg_up(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_postgres_resource_with_env_var_secret(monkeypatch) -> None:
    monkeypatch.setenv("SYNTH_TEST_PG_PASSWORD", SECRET)  # trust auth: any password is accepted
    table = f"io_{uuid.uuid4().hex[:10]}"
    resource = ConnectorResource(
        type="POSTGRES",
        access_type="WRITE_DATA",
        config={"host": "127.0.0.1", "username": "postgres", "database": "test"},
        secrets={"password": dg.EnvVar("SYNTH_TEST_PG_PASSWORD")},
    )
    assert SECRET not in repr(resource)
    io = ConnectorIOManager(connector=resource, location_prefix="public")
    got: dict[str, pd.DataFrame] = {}

    @dg.asset(io_manager_key="pg", name=table)
    def source() -> pd.DataFrame:
        return _frame(6)

    @dg.asset(ins={"data": dg.AssetIn(key=table)})
    def train(data: pd.DataFrame, db: ConnectorResource) -> None:
        got["data"] = data
        got["sample"] = db.read_data(f"public.{table}", limit=2, shuffle=True)

    try:
        result = dg.materialize([source, train], resources={"pg": io, "db": resource})
        assert result.success
        pd.testing.assert_frame_equal(got["data"], _frame(6))
        assert len(got["sample"]) == 2
        for event in result.all_events:
            assert SECRET not in str(event)
    finally:
        create_connector(
            {
                "type": "POSTGRES",
                "access_type": "WRITE_DATA",
                "config": {"host": "127.0.0.1", "username": "postgres", "database": "test"},
            }
        ).delete_data(f"public.{table}")


def test_read_protected_source_trains_but_does_not_load(tmp_path) -> None:
    db = str(tmp_path / "p.db")
    create_connector({"type": "SQLITE", "access_type": "WRITE_DATA", "config": {"database": db}}).write_data(
        _frame(3), "main.private"
    )
    protected = ConnectorResource(type="SQLITE", config={"database": db})  # READ_PROTECTED by default
    rows: dict[str, int] = {}

    @dg.asset
    def generator(source: ConnectorResource) -> None:
        rows["n"] = len(source.read_training_data("main.private"))
        with pytest.raises(AccessDeniedError):
            source.read_data("main.private")

    assert dg.materialize([generator], resources={"source": protected}).success
    assert rows["n"] == 3
