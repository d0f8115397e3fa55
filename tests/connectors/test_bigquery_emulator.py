"""BIGQUERY against bqemulator (PyPI `bqemulator`, a DuckDB-backed BigQuery REST emulator), with the
real google-cloud-bigquery client injected into the connector.

The emulator runs as a subprocess on free loopback ports, from its own virtualenv: it cannot share
the project's, since bqemulator 1.4.0 pins sqlglot<30.12 (fakesnow needs ~=30.22), pulls
cryptography 50 (pyopenssl needs <47) and cffi 2 (snowflake-connector-python needs <2), and it needs
DuckDB's spatial extension, which is only on PyPI for DuckDB 1.x (`duckdb-extension-spatial`).
A working setup, offline:

    python3.11 -m venv /opt/bqemu
    /opt/bqemu/bin/pip install bqemulator duckdb==1.5.5 duckdb-extension-spatial==1.5.5
    BQEMULATOR_BIN=/opt/bqemu/bin/bqemulator pytest tests/connectors/test_bigquery_emulator.py

The binary is `$BQEMULATOR_BIN`, else `bqemulator` beside this Python, else on PATH; without one the
tests skip. Before starting, the spatial extension is installed from `duckdb-extension-spatial` (in
the emulator's Python) into a private HOME, since the emulator's own `INSTALL spatial` would download.
In a venv that holds bqemulator itself, run pytest with `-p no:bqemulator`: its pytest plugin
imports `testcontainers`, which plain `pip install bqemulator` does not bring.

Emulator gaps (bqemulator 1.4.0), worked around, marked xfail or left out:
- loads: the client sends files under 5 MB as multipart uploads whose media part is `*/*`, which
  the emulator rejects ("unsupported Content-Type '*/*'"); the client here sends every load
  through its resumable upload (the path the client itself takes for files of 5 MB or more).
- retries: the client retries a 500 for up to 600 s; here its API retries stop after 5 s, so an
  emulator error fails the test instead of stalling it.
- xfail: `if_exists="replace"` with a different schema (the WRITE_TRUNCATE copy job keeps the old
  columns: DuckDB "table has 2 columns but 1 values were supplied", a 500), and listing a missing
  dataset (the emulator lists no tables where BigQuery answers 404).
- unsupported, not tested: BIGNUMERIC (a load fails: "DECIMAL type width must be between 1 and 38";
  a DDL-made column reads back as NUMERIC) and GEOGRAPHY/JSON/ARRAY/STRUCT columns (the connector
  reads them as "other").
- tested types: INT64, FLOAT64, NUMERIC, BOOL, STRING, DATE, DATETIME, TIMESTAMP, TIME, BYTES, with
  NULLs.
- ordering: `list_rows` returns rows in insertion order here; real BigQuery gives no order, so the
  tests compare sorted ids wherever more than one load job wrote a table.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from connector_frames import expected_back, id_frame, typed_frame
from connector_helpers import free_port

from synth_dagster.connectors import (
    LocationExistsError,
    LocationNotFoundError,
    ReadOnlyQueryError,
)
from synth_dagster.connectors.bigquery import BigQueryConnector
from synth_dagster.connectors.sql.connector import TMP_PREFIX
from synth_dagster.domain.connectors import ConnectorConfig

bigquery = pytest.importorskip("google.cloud.bigquery")

PROJECT = "synth-test"

_SPATIAL = (
    "import pathlib, duckdb, duckdb_extension_spatial as m\n"
    "p = next(pathlib.Path(m.__file__).parent.glob('extensions/*/spatial.duckdb_extension'))\n"
    "duckdb.connect().execute(f\"INSTALL '{p}'\")\n"
)


def _emulator_binary() -> str | None:
    explicit = os.environ.get("BQEMULATOR_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    sibling = Path(sys.executable).parent / "bqemulator"
    if sibling.is_file():
        return str(sibling)
    return shutil.which("bqemulator")


def _private_home(binary: str, home: Path) -> bool:
    """Install DuckDB's spatial extension from the PyPI package into `home`; True if it worked."""
    first = Path(binary).read_text(errors="replace").splitlines()[:1]
    python = first[0][2:].strip() if first and first[0].startswith("#!") else ""
    if "python" not in python:
        return False
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run(
        [python, "-c", _SPATIAL], env=env, cwd=home, capture_output=True, timeout=120, check=False
    )
    return done.returncode == 0


@pytest.fixture(scope="session")
def bq_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _emulator_binary()
    if binary is None:
        pytest.skip("bqemulator is not installed (pip install bqemulator, or set BQEMULATOR_BIN)")
    workdir = tmp_path_factory.mktemp("bqemulator")
    env = {**os.environ, "BQEMU_UPLOAD_STAGING_DIR": str(workdir / "uploads")}
    if _private_home(binary, workdir):
        env["HOME"] = str(workdir)
    rest, grpc = free_port(), free_port()
    log_path = workdir / "emulator.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                binary,
                "start",
                "--rest-host",
                "127.0.0.1",
                "--rest-port",
                str(rest),
                "--grpc-host",
                "127.0.0.1",
                "--grpc-port",
                str(grpc),
                "--ephemeral",
                "--project",
                PROJECT,
                "--log-level",
                "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,  # no stray .bqemu.toml
            env=env,
        )
    url = f"http://127.0.0.1:{rest}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2):
                    break
            except OSError:
                pass
            if process.poll() is not None:
                text = log_path.read_text(errors="replace")
                if "spatial" in text:
                    pytest.skip(
                        "bqemulator needs DuckDB's spatial extension, which it cannot download here: "
                        "pip install duckdb-extension-spatial==<its duckdb version> beside it"
                    )
                raise RuntimeError(f"bqemulator exited with {process.returncode}:\n{text[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"bqemulator not ready on {url} after 90 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def make_client(bq_endpoint: str) -> Callable[[], Any]:
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    class EmulatorClient(bigquery.Client):
        """Every load as a resumable upload: bqemulator rejects the multipart one's `*/*` part."""

        def _do_multipart_upload(self, stream, metadata, size, num_retries, timeout, project=None):
            return self._do_resumable_upload(stream, metadata, num_retries, timeout, project=project)

        def _call_api(self, retry, *args, **kwargs):
            return super()._call_api(retry and retry.with_timeout(5), *args, **kwargs)

    def make() -> Any:
        return EmulatorClient(
            project=PROJECT,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=bq_endpoint),
        )

    return make


@pytest.fixture(scope="session")
def dataset(make_client: Callable[[], Any]) -> str:
    name = f"sd_{uuid.uuid4().hex[:8]}"
    client = make_client()
    client.create_dataset(name)
    client.close()
    return name


@pytest.fixture
def bq(make_client: Callable[[], Any]) -> Iterator[BigQueryConnector]:
    config = ConnectorConfig(type="BIGQUERY", access_type="WRITE_DATA", config={"projectId": PROJECT})
    connector = BigQueryConnector(config, client=make_client())
    yield connector
    connector.close()


def _loc(dataset: str) -> str:
    return f"{dataset}.t_{uuid.uuid4().hex[:10]}"


def _raw_tables(bq: BigQueryConnector, dataset: str) -> list[str]:
    return [t.table_id for t in bq.client.list_tables(f"{PROJECT}.{dataset}")]


def test_locations_and_schema(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    assert bq.write_data(id_frame(5), loc) == 5
    assert dataset in bq.locations()
    assert loc in bq.locations(dataset)
    assert bq.locations(loc) == [loc]  # "dataset.prefix" filters by table name
    assert not [t for t in _raw_tables(bq, dataset) if t.startswith(TMP_PREFIX)]  # temp table dropped
    assert bq.schema(loc) == [
        {"name": "id", "type": "INT64", "nullable": False, "dtype": "int64"},
        {"name": "label", "type": "STRING", "nullable": True, "dtype": "str"},
    ]
    assert bq.schema(f"{PROJECT}.{loc}") == bq.schema(loc)  # project-qualified names work too
    with pytest.raises(LocationNotFoundError):
        bq.schema(f"{dataset}.no_such_table")
    bq.test_connection()


def test_write_if_exists_modes(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    # "fail" on a new table, several chunks: several load jobs into the temp table, one copy
    assert bq.write_data((id_frame(40, start=i * 40) for i in range(3)), loc, chunk_size=25) == 120
    assert sorted(bq.read_data(loc)["id"]) == list(range(120))
    with pytest.raises(LocationExistsError):
        bq.write_data(id_frame(1, start=999), loc)
    assert len(bq.read_data(loc)) == 120  # untouched
    assert bq.write_data(id_frame(3, start=500), loc, if_exists="append") == 3
    assert sorted(bq.read_data(loc)["id"]) == [*range(120), 500, 501, 502]
    assert bq.write_data(id_frame(2, start=900), loc, if_exists="replace") == 2
    pd.testing.assert_frame_equal(bq.read_data(loc), id_frame(2, start=900))
    assert not [t for t in _raw_tables(bq, dataset) if t.startswith(TMP_PREFIX)]
    # append to a missing table creates it
    new = _loc(dataset)
    assert bq.write_data(id_frame(4), new, if_exists="append") == 4
    assert len(bq.read_data(new)) == 4


@pytest.mark.xfail(reason="bqemulator 1.4.0: a WRITE_TRUNCATE copy keeps the old columns (500)")
def test_replace_with_another_schema(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    bq.write_data(id_frame(2), loc)
    bq.write_data(pd.DataFrame({"x": [1.5, None]}), loc, if_exists="replace")
    assert [c["name"] for c in bq.schema(loc)] == ["x"]


@pytest.mark.xfail(reason="bqemulator 1.4.0 lists no tables for a missing dataset; BigQuery answers 404")
def test_missing_dataset_is_not_found(bq: BigQueryConnector) -> None:
    with pytest.raises(LocationNotFoundError):
        bq.locations("no_such_dataset")


def test_read_with_limit_chunks_and_shuffle(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    bq.write_data(id_frame(1000), loc)
    back = bq.read_data(loc, limit=10)
    assert len(back) == 10 and list(back.columns) == ["id", "label"]
    assert [str(t) for t in back.dtypes] == ["int64", "str"]
    chunks = list(bq.read_data_chunks(loc, chunk_size=300))
    assert sum(len(ch) for ch in chunks) == 1000 and max(len(ch) for ch in chunks) <= 300
    assert sorted(pd.concat(chunks)["id"]) == list(range(1000))
    limited = list(bq.read_data_chunks(loc, limit=450, chunk_size=200))
    assert sum(len(ch) for ch in limited) == 450
    empty = bq.read_data(loc, limit=0)
    assert len(empty) == 0 and [str(t) for t in empty.dtypes] == ["int64", "str"]
    sample = bq.read_data(loc, limit=7, shuffle=True)  # ORDER BY RAND() LIMIT 7 as a query job
    assert len(sample) == 7 and set(sample["id"]) <= set(range(1000))
    assert [str(t) for t in sample.dtypes] == ["int64", "str"]


def test_delete(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    bq.write_data(id_frame(3), loc)
    bq.delete_data(loc)
    assert loc not in bq.locations(dataset)
    with pytest.raises(LocationNotFoundError):
        bq.read_data(loc)
    with pytest.raises(LocationNotFoundError):
        bq.delete_data(loc)


def test_read_only_query(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    bq.write_data(id_frame(20), loc)
    out = bq.query(f"SELECT COUNT(*) AS n, MAX(id) AS top FROM `{PROJECT}.{loc}` WHERE id >= 5")
    assert list(out.columns) == ["n", "top"] and out.iloc[0].tolist() == [15, 19]
    assert bq.query("SELECT 1 AS n").iloc[0, 0] == 1
    with pytest.raises(ReadOnlyQueryError):
        bq.query(f"DELETE FROM `{PROJECT}.{loc}` WHERE true")  # the SQL guard
    # past the guard, the emulator's dry run reports DELETE and the connector refuses it
    with pytest.raises(ReadOnlyQueryError, match="DELETE"):
        bq._query(f"DELETE FROM `{PROJECT}.{loc}` WHERE true")
    assert len(bq.read_data(loc)) == 20


def test_type_round_trip(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    df = typed_frame()
    assert bq.write_data(df, loc) == 3
    back = bq.read_data(loc)
    pd.testing.assert_frame_equal(back, expected_back(df))
    assert [c["dtype"] for c in bq.schema(loc)] == [str(t) for t in back.dtypes]
    types = {c["name"]: c["type"] for c in bq.schema(loc)}
    assert types["timestamp"] == "DATETIME" and types["timestamp_tz"] == "TIMESTAMP"
    assert types["decimal"] == "NUMERIC" and types["nullable_bool"] == "BOOL"


def test_time_and_bytes_round_trip(bq: BigQueryConnector, dataset: str) -> None:
    loc = _loc(dataset)
    df = pd.DataFrame(
        {
            "t": [dt.time(1, 2, 3, 456789), None],
            "raw": [b"\x00\xffbytes", None],
            "dec": [decimal.Decimal("-12345.123456789"), None],  # scale 9: still NUMERIC
        }
    )
    bq.write_data(df, loc)
    assert [c["type"] for c in bq.schema(loc)] == ["TIME", "BYTES", "NUMERIC"]
    back = bq.read_data(loc)
    assert back["t"].tolist() == [dt.time(1, 2, 3, 456789), None]
    assert back["raw"].tolist() == [b"\x00\xffbytes", None]
    assert back["dec"].tolist() == [decimal.Decimal("-12345.123456789"), None]
