"""The store on an S3-compatible server (moto in server mode on loopback): jobs, listings, export."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sdk_helpers import FAST

from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk import SynthClient

pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_client(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> SynthClient:
    # credentials from the environment: the worker processes must receive them too
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint)
    if not fs.exists("synth-store"):
        fs.mkdir("synth-store")
    return SynthClient("s3://synth-store/team-a", quiet=True, storage_options={"endpoint_url": s3_endpoint})


def test_store_on_s3(s3_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path) -> None:
    g = s3_client.train(
        config={
            "name": "on s3",
            "random_state": 3,
            "tables": [
                {"name": "diamonds", "data": diamonds_df.iloc[:400], "tabular_model_configuration": FAST}
            ],
        }
    )
    assert g.training_status is ProgressStatus.DONE
    assert not s3_client.store.exists(f"{g.directory}/job/input"), "training rows must not outlive the job"
    probe = s3_client.probe(g, size=40, config={"random_state": 5})
    assert len(probe) == 40

    sd = s3_client.generate(g, size=60)
    assert sd.generation_status is ProgressStatus.DONE
    assert len(sd.data()) == 60
    assert sd.download(tmp_path / "out.csv", format="csv").read_text().count("\n") == 61

    # a second client on the same bucket sees the same records
    other = SynthClient(s3_client.store.url, quiet=True, storage_options=s3_client.store.storage_options)
    assert [x.id for x in other.generators.list()] == [g.id]
    assert [x.id for x in other.synthetic_datasets.list(status="DONE")] == [sd.id]
    assert "epoch" in other.generators.get(g.id).training.logs(tmp_path).read_text()

    # export from S3, import into a local store: identical probes
    local = SynthClient(tmp_path / "local", quiet=True)
    imported = local.generators.import_from_file(g.export_to_file(tmp_path / "g.zip"))
    pd.testing.assert_frame_equal(local.probe(imported, size=40, config={"random_state": 5}), probe)

    # and an import straight from the bucket
    s3_client.store.fs.put_file(str(tmp_path / "g.zip"), "synth-store/exports/g.zip")
    again = other.generators.import_from_file("s3://synth-store/exports/g.zip")
    pd.testing.assert_frame_equal(other.probe(again, size=40, config={"random_state": 5}), probe)
    again.delete()

    sd.delete()
    g.delete()
    assert list(other.generators.list()) == []
    assert list(other.synthetic_datasets.list()) == []
