"""Connectors in the store: data methods, secrets kept out of sight, training from and delivery to them."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sdk_helpers import FAST

from synth_dagster.connectors import AccessDeniedError
from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk import JobStateError, NotFoundError, SynthClient

SECRET = "very-secret-value-123"


def test_secrets_never_show(fresh_client: SynthClient, tmp_path: Path) -> None:
    c = fresh_client.connect(
        config={
            "name": "My S3 Destination Storage",
            "type": "S3_STORAGE",
            "access_type": "DESTINATION",
            "config": {"access_key": "AKIAEXAMPLE"},
            "secrets": {"secret_key": SECRET},
        },
        test_connection=False,
    )
    assert c.config == {"accessKey": "AKIAEXAMPLE"}
    assert c.secrets == {"secretKey": "***"}
    assert SECRET not in repr(c) and SECRET not in str(vars(c))
    listed = list(fresh_client.connectors.list())
    assert [x.id for x in listed] == [c.id] and SECRET not in repr(listed)
    record = fresh_client.store.read_bytes(f"connectors/{c.id}/record.json").decode()
    assert SECRET not in record
    secrets_file = Path(fresh_client.store.path(f"connectors/{c.id}/secrets.json"))
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    assert json.loads(secrets_file.read_text())["secrets"] == {"secretKey": SECRET}

    # update merges: a new name keeps the secret, a new secret replaces it
    c.update(name="renamed", test_connection=False)
    assert fresh_client.connectors.get(c.id).name == "renamed"
    c.update(secrets={"secretKey": "other"}, test_connection=False)
    assert json.loads(secrets_file.read_text())["secrets"] == {"secretKey": "other"}
    assert [x.name for x in fresh_client.connectors.list(access_type="DESTINATION")] == ["renamed"]
    assert list(fresh_client.connectors.list(access_type="READ_DATA")) == []

    c.delete()
    with pytest.raises(NotFoundError):
        fresh_client.connectors.get(c.id)


def test_connect_tests_the_connection(fresh_client: SynthClient, tmp_path: Path) -> None:
    from synth_dagster.connectors import ConnectorError

    with pytest.raises(ConnectorError):
        fresh_client.connect({"type": "FILE_UPLOAD", "config": {"basePath": str(tmp_path / "missing")}})
    assert list(fresh_client.connectors.list()) == []


def test_train_from_connector_clone_and_deliver(
    client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    source_dir, out_dir = tmp_path / "source", tmp_path / "out"
    source_dir.mkdir()
    out_dir.mkdir()
    diamonds_df.to_csv(source_dir / "diamonds.csv", index=False)
    src = client.connect(
        {
            "name": "source files",
            "type": "FILE_UPLOAD",
            "access_type": "READ_PROTECTED",
            "config": {"basePath": str(source_dir)},
        }
    )
    assert src.locations() == ["diamonds.csv"]
    assert [c["name"] for c in src.schema("diamonds.csv")] == list(diamonds_df.columns)
    with pytest.raises(AccessDeniedError):
        src.read_data("diamonds.csv")  # READ_PROTECTED: training only

    g = client.train(
        config={
            "name": "Diamonds from files",
            "tables": [
                {
                    "name": "diamonds",
                    "source_connector_id": src.id,
                    "location": "diamonds.csv",
                    "tabular_model_configuration": FAST,
                }
            ],
        }
    )
    assert g.training_status is ProgressStatus.DONE
    assert g.tables[0].total_rows == len(diamonds_df)
    assert g.tables[0].columns == list(diamonds_df.columns)

    # clone("new"): same config, to be trained from scratch
    fresh = g.clone("new")
    assert fresh.training_status is ProgressStatus.NEW
    assert fresh.config().tables[0].source_connector_id == src.id
    # clone("continue"): keeps the trained model until it is trained again
    cont = g.clone("continue")
    assert cont.training_status is ProgressStatus.CONTINUE
    assert cont.accuracy == g.accuracy
    cont.training.start()
    cont.training.wait(progress_bar=False, interval=0.2)
    assert cont.training_status is ProgressStatus.DONE
    assert len(client.probe(cont, size=5)) == 5
    assert "continuing from the saved weights" in cont.training.logs(tmp_path / "continue.log").read_text()

    # deliver a synthetic dataset to a destination connector
    src.update(access_type="READ_DATA")
    assert len(src.read_data("diamonds.csv", limit=10)) == 10
    dest = client.connect(
        {
            "name": "out",
            "type": "FILE_UPLOAD",
            "access_type": "WRITE_DATA",
            "config": {"basePath": str(out_dir)},
        }
    )
    sd = client.generate(
        g,
        size=120,
        config={
            "name": "Delivered diamonds",
            "delivery": {
                "destination_connector_id": dest.id,
                "location": "synthetic",
                "overwrite_tables": True,
            },
        },
    )
    assert sd.name == "Delivered diamonds"
    delivered = pd.read_parquet(out_dir / "synthetic" / "diamonds.parquet")
    pd.testing.assert_frame_equal(delivered, sd.data(), check_dtype=False)
    assert sd.delivery is not None and sd.delivery.location == "synthetic"

    # a second delivery without overwrite fails, with the reason in the status
    sd2 = client.synthetic_datasets.create(
        {
            "generator_id": g.id,
            "tables": [
                {"name": "diamonds", "configuration": {"sample_size": 10, "enable_data_report": False}}
            ],
            "delivery": {
                "destination_connector_id": dest.id,
                "location": "synthetic",
                "overwrite_tables": False,
            },
        }
    )
    assert sd2.generation_status is ProgressStatus.NEW
    sd2.generation.start()
    with pytest.raises(Exception, match="exists"):
        sd2.generation.wait(progress_bar=False, interval=0.2)
    assert sd2.generation_status is ProgressStatus.FAILED

    # no export of a connector-trained generator carries a secret or a row
    exported = g.export_to_file(tmp_path / "g.zip")
    with zipfile.ZipFile(exported) as archive:
        assert not any(n.endswith((".csv", ".parquet")) for n in archive.namelist())


def test_missing_connector_is_reported(client: SynthClient) -> None:
    g = client.generators.create(
        {"name": "dangling", "tables": [{"name": "t", "source_connector_id": "nope", "location": "x.csv"}]}
    )
    with pytest.raises(NotFoundError, match="connector 'nope'"):
        g.training.start()
    with pytest.raises(Exception, match="no data"):
        client.generators.create({"name": "no data", "tables": [{"name": "t"}]})
    assert g.training_status is ProgressStatus.NEW
    with pytest.raises(JobStateError, match="not been started"):
        g.training.wait(progress_bar=False)
    g.delete()
