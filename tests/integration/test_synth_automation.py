"""The source sensor (cursor, no request without change, a request on new rows) and the schedule."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3

import dagster as dg
import pandas as pd
import pytest

from synth_dagster.integration import (
    AssetsMaterialized,
    ConnectorMaxValue,
    ConnectorResource,
    ConnectorRowCount,
    FileModified,
    SourceTable,
    SyntheticData,
    SynthResource,
    build_regeneration_schedule,
    build_source_sensor,
    build_synthetic_data_assets,
)


@pytest.fixture
def synth():
    return build_synthetic_data_assets(
        SyntheticData(name="flights", tables=[SourceTable("flights", connector="db", location="flights")])
    )


@pytest.fixture
def database(tmp_path, flights_frame):
    path = tmp_path / "source.db"
    with sqlite3.connect(path) as con:
        flights_frame.head(100).to_sql("flights", con, index=False)
    return path


def _append(database, frame: pd.DataFrame) -> None:
    with sqlite3.connect(database) as con:
        frame.to_sql("flights", con, index=False, if_exists="append")


def _tick(sensor: dg.SensorDefinition, instance, cursor, resources=None) -> dg.SensorResult:
    # a context manager: ConnectorResource has a teardown (it closes its connections)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        return sensor(context)


def test_row_count_sensor(synth, database, flights_frame, dagster_instance) -> None:
    sensor = build_source_sensor(synth, ConnectorRowCount("db", "flights"))
    resources = {
        "db": ConnectorResource(type="SQLITE", access_type="READ_DATA", config={"database": str(database)})
    }

    first = _tick(sensor, dagster_instance, None, resources)
    assert not first.run_requests and json.loads(first.cursor) == {"rows": 100}

    unchanged = _tick(sensor, dagster_instance, first.cursor, resources)
    assert not unchanged.run_requests and "unchanged" in unchanged.skip_reason.skip_message
    assert unchanged.cursor == first.cursor

    _append(database, flights_frame.iloc[100:120])
    changed = _tick(sensor, dagster_instance, unchanged.cursor, resources)
    assert json.loads(changed.cursor) == {"rows": 120}
    (request,) = changed.run_requests
    assert set(request.asset_selection) == set(synth.all_keys)  # retrain and regenerate in one run
    assert request.tags["synth_dagster/trigger"] == "source_changed"

    again = _tick(sensor, dagster_instance, changed.cursor, resources)
    assert not again.run_requests


def test_row_count_sensor_on_read_protected_connector_streams(
    synth, database, flights_frame, dagster_instance
):
    sensor = build_source_sensor(synth, ConnectorRowCount("db", "flights"), request_on_first_tick=True)
    resources = {"db": ConnectorResource(type="SQLITE", config={"database": str(database)})}
    first = _tick(sensor, dagster_instance, None, resources)
    assert len(first.run_requests) == 1 and json.loads(first.cursor) == {"rows": 100}


def test_timestamp_max_sensor(synth, database, flights_frame, dagster_instance) -> None:
    sensor = build_source_sensor(synth, ConnectorMaxValue("db", "flights", "time_hour"), retrain_only=True)
    resources = {
        "db": ConnectorResource(type="SQLITE", access_type="READ_DATA", config={"database": str(database)})
    }
    first = _tick(sensor, dagster_instance, None, resources)
    newer = flights_frame.iloc[[0]].assign(time_hour=pd.Timestamp("2014-01-01 09:00"))
    _append(database, newer)
    changed = _tick(sensor, dagster_instance, first.cursor, resources)
    assert "2014-01-01" in changed.cursor
    (request,) = changed.run_requests
    assert set(request.asset_selection) == set(synth.training_keys)


def test_file_sensor(tmp_path, synth, dagster_instance) -> None:
    path = tmp_path / "landing.csv"
    path.write_text("a\n1\n")
    sensor = build_source_sensor(synth, FileModified(str(path)), name="landing_sensor")
    first = _tick(sensor, dagster_instance, None)
    assert not first.run_requests
    assert not _tick(sensor, dagster_instance, first.cursor).run_requests
    path.write_text("a\n1\n2\n")
    os.utime(path, (1e9, 2e9))
    changed = _tick(sensor, dagster_instance, first.cursor)
    assert len(changed.run_requests) == 1 and changed.cursor != first.cursor
    assert changed.run_requests[0].run_key.startswith("landing_sensor:")


def test_upstream_materialization_sensor(tmp_path, dagster_instance) -> None:
    @dg.asset
    def raw() -> int:
        return 1

    synth = build_synthetic_data_assets(SyntheticData(name="r", tables=[SourceTable("r", asset="raw")]))
    sensor = build_source_sensor(synth, AssetsMaterialized(["raw"]))
    first = _tick(sensor, dagster_instance, None)
    assert not _tick(sensor, dagster_instance, first.cursor).run_requests
    dg.materialize([raw], instance=dagster_instance)
    changed = _tick(sensor, dagster_instance, first.cursor)
    assert len(changed.run_requests) == 1
    assert json.loads(changed.cursor)["raw"] is not None


def test_sensor_and_schedule_load_in_definitions(synth, database) -> None:
    defs = dg.Definitions(
        assets=list(synth),
        sensors=[build_source_sensor(synth, ConnectorMaxValue("db", "flights", "time_hour"))],
        schedules=[build_regeneration_schedule(synth)],
        resources={
            "synth": SynthResource(),
            "db": ConnectorResource(type="SQLITE", config={"database": str(database)}),
        },
    )
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_sensor_def("flights_source_sensor")
    assert defs.resolve_schedule_def("flights_regenerate_schedule")


def test_schedule_requests_a_regeneration(synth, dagster_instance) -> None:
    schedule = build_regeneration_schedule(synth, "0 6 * * 1", size=500)
    when = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
    request = schedule(dg.build_schedule_context(instance=dagster_instance, scheduled_execution_time=when))
    assert set(request.asset_selection) == set(synth.generation_keys)
    config = request.run_config["ops"][synth.generation_op_name]["config"]
    assert config == {"random_state": int(when.timestamp()) % 2**31, "size": 500}
    next_week = schedule(
        dg.build_schedule_context(
            instance=dagster_instance, scheduled_execution_time=when + dt.timedelta(days=7)
        )
    )
    assert (
        next_week.run_config["ops"][synth.generation_op_name]["config"]["random_state"]
        != config["random_state"]
    )
    assert schedule.cron_schedule == "0 6 * * 1"

    retrain = build_regeneration_schedule(synth, retrain=True, fresh_random_state=False)
    request = retrain(dg.build_schedule_context(instance=dagster_instance, scheduled_execution_time=when))
    assert set(request.asset_selection) == set(synth.all_keys) and not request.run_config
