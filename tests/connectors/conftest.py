"""Fixtures for the connector tests (see connector_helpers.py for the families)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from connector_helpers import MARIA, PG, Family, free_port, reachable, unique

from synth_dagster.connectors import Connector, create_connector


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_config(endpoint: str) -> dict[str, Any]:
    return {
        "type": "S3_STORAGE",
        "config": {"accessKey": "testing-key", "endpointUrl": endpoint, "region": "eu-west-1"},
        "secrets": {"secretKey": "testing-secret-value"},
    }


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Iterator[str]:
    import boto3

    bucket = unique("bkt").replace("_", "-")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing-key",
        aws_secret_access_key="testing-secret-value",
        region_name="eu-west-1",
    )
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield bucket
    for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])
    client.delete_bucket(Bucket=bucket)


def _wait_for(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if reachable("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def gcs_endpoint() -> Iterator[str]:
    """gcp-storage-emulator (a Python GCS emulator) on a loopback port."""
    pytest.importorskip("gcsfs")
    server_module = pytest.importorskip("gcp_storage_emulator.server")
    port = free_port()
    server = server_module.create_server("127.0.0.1", port, in_memory=True)
    server.start()
    _wait_for(port)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def azurite_endpoint() -> Iterator[str]:
    """Azurite's blob service (from the npm registry: `npm install -g azurite`) on a loopback port."""
    pytest.importorskip("adlfs")
    binary = shutil.which("azurite-blob")
    if binary is None:
        pytest.skip("Azurite is not installed (npm install -g azurite)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--silent",
            "--skipApiVersionCheck",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        yield f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# Azurite's documented development account (public, not a secret)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def make_family(name: str, request: pytest.FixtureRequest, tmp_path: Any) -> Family:
    if name == "postgres":
        if not reachable("127.0.0.1", 5432):
            pytest.skip("no PostgreSQL on 127.0.0.1:5432")
        return Family(name, {"type": "POSTGRES", "config": PG}, lambda t: f"public.{t}", "public")
    if name == "mariadb":
        if not reachable("127.0.0.1", 3306):
            pytest.skip("no MariaDB on 127.0.0.1:3306")
        return Family(name, {"type": "MARIADB", "config": MARIA}, lambda t: f"test.{t}", "test")
    if name == "mysql":
        if not reachable("127.0.0.1", 3306):
            pytest.skip("no MySQL-compatible server on 127.0.0.1:3306")
        return Family(name, {"type": "MYSQL", "config": MARIA}, lambda t: f"test.{t}", "test")
    if name == "redshift":
        # no Redshift here: the REDSHIFT connector (generic INSERT path) against PostgreSQL
        if not reachable("127.0.0.1", 5432):
            pytest.skip("no PostgreSQL on 127.0.0.1:5432")
        return Family(name, {"type": "REDSHIFT", "config": PG}, lambda t: f"public.{t}", "public")
    if name == "sqlite":
        db = tmp_path / "db.sqlite"
        return Family(
            name, {"type": "SQLITE", "config": {"database": str(db)}}, lambda t: f"main.{t}", "main"
        )
    if name.startswith("local"):
        ext = name.split("-")[1]
        cfg = {"type": "FILE_UPLOAD", "config": {"basePath": str(tmp_path)}}
        suffix = "" if ext == "folder" else f".{ext}"
        return Family(name, cfg, lambda t: f"data/{t}{suffix}", "data", typed=ext in ("parquet", "folder"))
    if name == "s3":
        bucket = request.getfixturevalue("s3_bucket")
        endpoint = request.getfixturevalue("s3_endpoint")
        return Family(name, s3_config(endpoint), lambda t: f"{bucket}/{t}.parquet", bucket)
    if name == "gcs":
        endpoint = request.getfixturevalue("gcs_endpoint")
        cfg = {"type": "GOOGLE_CLOUD_STORAGE", "config": {"endpointUrl": endpoint, "projectId": "test"}}
        bucket = unique("bkt").replace("_", "-")
        create_connector(cfg).storage.fs.mkdir(bucket)
        return Family(name, cfg, lambda t: f"{bucket}/{t}.parquet", bucket)
    if name == "azure":
        endpoint = request.getfixturevalue("azurite_endpoint")
        cfg = {
            "type": "AZURE_STORAGE",
            "config": {"accountName": AZURITE_ACCOUNT, "endpointUrl": endpoint},
            "secrets": {"accountKey": AZURITE_KEY},
        }
        container = unique("cont").replace("_", "-")
        fs = create_connector(cfg).storage.fs
        fs.mkdir(container)
        request.addfinalizer(lambda: fs.rm(container, recursive=True))
        return Family(name, cfg, lambda t: f"{container}/{t}.parquet", container)
    if name == "snowflake":
        fakesnow = pytest.importorskip("fakesnow")
        pytest.importorskip("snowflake.connector")
        patch = fakesnow.patch()
        patch.__enter__()
        request.addfinalizer(lambda: patch.__exit__(None, None, None))
        cfg = {
            "type": "SNOWFLAKE",
            "config": {"account": "fake", "username": "fake", "database": "SYNTH"},
            "secrets": {"password": "fake-password"},
        }
        connector = create_connector(cfg)
        connector._execute("CREATE SCHEMA IF NOT EXISTS S1")  # fakesnow starts with no schema
        connector.close()
        return Family(name, cfg, lambda t: f"S1.{t}", "S1")
    raise ValueError(name)


# Families with a full type round trip; the CSV / JSON files are covered separately.
TYPED = [
    "postgres",
    "redshift",
    "mariadb",
    "mysql",
    "sqlite",
    "local-parquet",
    "local-folder",
    "s3",
    "gcs",
    "azure",
    "snowflake",
]
ALL = [*TYPED, "local-csv", "local-jsonl"]
# Families whose query() is checked against the real database / DuckDB.
QUERY = ["postgres", "mariadb", "sqlite", "local-parquet", "s3", "gcs", "azure", "snowflake"]


@pytest.fixture(params=ALL)
def family(request: pytest.FixtureRequest, tmp_path: Any) -> Family:
    return make_family(request.param, request, tmp_path)


@pytest.fixture(params=TYPED)
def typed_family(request: pytest.FixtureRequest, tmp_path: Any) -> Family:
    return make_family(request.param, request, tmp_path)


@pytest.fixture(params=QUERY)
def query_family(request: pytest.FixtureRequest, tmp_path: Any) -> Family:
    return make_family(request.param, request, tmp_path)


@pytest.fixture
def cleanup() -> Iterator[Callable[[Connector, str], None]]:
    """Register (connector, location) pairs to delete after the test, whatever happened."""
    pending: list[tuple[Connector, str]] = []
    yield lambda connector, location: pending.append((connector, location))
    for connector, location in pending:
        try:
            connector.delete_data(location)
        except Exception:
            pass
        connector.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # fakesnow's own DuckDB call warns about an extra copy; not ours to fix
    here = str(__file__).rsplit("/", 1)[0]
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"))
