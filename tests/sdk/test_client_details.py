"""Client details: quiet output, file inputs, secrets kept out of exports, stored metrics and reports,
and a canceled or failed job leaving the previous artifact intact."""

from __future__ import annotations

import socket
import uuid
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sdk_helpers import FAST, leftovers, wait_for_training_step

from synth_dagster.domain import ModelMetrics, ProgressStatus
from synth_dagster.sdk import Generator, JobFailedError, SynthClient

PG_PASSWORD = "pg-Pa55word-7f3c9e1d-never-export"
REPORTED = {**FAST, "enable_model_report": True}
LONG = {"max_epochs": 10_000, "model": "MOSTLY_AI/Small", "enable_model_report": False}


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def _table(name: str, frame: pd.DataFrame | str, model: dict) -> dict:
    return {"name": name, "data": frame, "tabular_model_configuration": model}


def _check_metrics(metrics: ModelMetrics | None) -> None:
    assert metrics is not None
    acc = metrics.accuracy
    assert acc is not None
    for value in (acc.overall, acc.univariate, acc.bivariate):
        assert value is not None and 0.0 <= value <= 1.0
    # overall is the mean of univariate, bivariate and (sequences only) coherence, as in the reference
    parts = [v for v in (acc.univariate, acc.bivariate, acc.coherence) if v is not None]
    assert acc.overall == pytest.approx(sum(parts) / len(parts), abs=1e-6)
    assert metrics.distances is not None
    assert metrics.distances.dcr_share is not None and 0.0 <= metrics.distances.dcr_share <= 1.0


@pytest.fixture(scope="module")
def reported(client: SynthClient, diamonds_df: pd.DataFrame) -> Generator:
    """A small generator with its model report (shared by the metrics and report tests)."""
    return client.train(
        config={
            "name": "details: reported",
            "random_state": 3,
            "tables": [_table("diamonds", diamonds_df.head(300), REPORTED)],
        },
        progress_bar=False,
    )


# ---------------------------------------------------------------------------------------------- quiet
def test_quiet_client_prints_nothing(
    tmp_path: Path, diamonds_df: pd.DataFrame, capfd: pytest.CaptureFixture[str]
) -> None:
    quiet = SynthClient(tmp_path / "store", quiet=True)
    capfd.readouterr()
    g = quiet.train(config={"name": "quiet", "tables": [_table("d", diamonds_df.head(200), FAST)]})
    sd = quiet.generate(g, size=20)  # progress_bar left at its default (True)
    out, err = capfd.readouterr()
    assert g.training_status is ProgressStatus.DONE and len(sd.data()) == 20
    assert (out, err) == ("", "")

    # the same calls on a client that is not quiet do show progress (so the capture above is real)
    loud = SynthClient(tmp_path / "store", quiet=False)
    loud.generate(g.id, size=5)
    out, err = capfd.readouterr()
    assert "Generation" in out + err


# ------------------------------------------------------------------------------------------ file input
def test_train_from_parquet_and_csv_paths(
    fresh_client: SynthClient, census_df: pd.DataFrame, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    parquet = tmp_path / "census.parquet"
    small = census_df[["wage", "age", "gender", "sector"]].head(80)
    small.to_parquet(parquet, index=False)
    csv = tmp_path / "diamonds.csv"
    diamonds_df.head(200).to_csv(csv, index=False)

    # the shorthand (default model settings: keep the table tiny) from a Parquet file, and a CSV path
    # inside a config; both jobs run at once
    from_parquet = fresh_client.train(data=parquet, name="from parquet", wait=False)
    from_csv = fresh_client.train(
        config={"name": "from csv", "tables": [_table("diamonds", str(csv), FAST)]}, wait=False
    )
    for g in (from_parquet, from_csv):
        g.training.wait(progress_bar=False, interval=0.2)
    assert from_parquet.training_status is ProgressStatus.DONE
    assert from_csv.training_status is ProgressStatus.DONE
    assert from_parquet.tables[0].name == "data"
    assert from_parquet.tables[0].columns == list(small.columns)
    assert from_parquet.tables[0].total_rows == len(small)
    assert from_csv.tables[0].columns == list(pd.read_csv(csv).columns)
    assert from_csv.tables[0].total_rows == 200
    assert list(fresh_client.probe(from_parquet, size=4).columns) == list(small.columns)
    assert list(fresh_client.probe(from_csv, size=4).columns) == list(diamonds_df.columns)
    # the file path is not kept in the config (the rows were read once, into the job input)
    assert from_csv.config().tables[0].data is None


# --------------------------------------------------------------------------------------------- secrets
@pytest.mark.skipif(not _pg_reachable(), reason="no PostgreSQL on 127.0.0.1:5432")
def test_connector_password_never_exported(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    location = f"public.details_{uuid.uuid4().hex[:10]}"
    pg = fresh_client.connect(
        {
            "name": "local postgres",
            "type": "POSTGRES",
            "access_type": "WRITE_DATA",
            "config": {"host": "127.0.0.1", "port": 5432, "username": "postgres", "database": "test"},
            "secrets": {"password": PG_PASSWORD},
        }
    )
    secret = PG_PASSWORD.encode()
    try:
        pg.write_data(diamonds_df.head(200), location)
        g = fresh_client.train(
            config={
                "name": "from postgres",
                "tables": [
                    {
                        "name": "diamonds",
                        "source_connector_id": pg.id,
                        "location": location,
                        "tabular_model_configuration": FAST,
                    }
                ],
            },
            progress_bar=False,
        )
        assert g.training_status is ProgressStatus.DONE
        assert g.tables[0].total_rows == 200
        assert PG_PASSWORD not in repr(g) and PG_PASSWORD not in repr(pg)
        assert PG_PASSWORD not in g.config().model_dump_json()
        assert PG_PASSWORD not in g.training.logs(tmp_path / "train.log").read_text()

        exported = g.export_to_file(tmp_path / "pg-generator.zip")
        with zipfile.ZipFile(exported) as archive:
            names = archive.namelist()
            assert any(n.startswith("model/") for n in names)
            for name in names:
                assert secret not in archive.read(name), f"the password is in {name}"
        assert secret not in exported.read_bytes()  # not even in the ZIP's own headers
        # the import works without the secret (the connector id stays a plain reference)
        other = SynthClient(tmp_path / "other", quiet=True)
        imported = other.generators.import_from_file(exported)
        pd.testing.assert_frame_equal(
            other.probe(imported, size=5, config={"random_state": 1}),
            fresh_client.probe(g, size=5, config={"random_state": 1}),
        )
    finally:
        pg.delete_data(location)


# --------------------------------------------------------------------------------------------- metrics
def _generate(client: SynthClient, generator, rows: int, data_report: bool):
    configuration = {"sample_size": rows, "enable_data_report": data_report}
    return client.generate(
        generator,
        config={"tables": [{"name": "diamonds", "configuration": configuration}]},
        progress_bar=False,
    )


def test_metrics_are_stored_with_generator_and_dataset(client: SynthClient, reported: Generator) -> None:
    table = reported.tables[0]
    _check_metrics(table.tabular_model_metrics)
    assert table.tabular_model_metrics is not None and table.tabular_model_metrics.accuracy is not None
    assert reported.accuracy == pytest.approx(table.tabular_model_metrics.accuracy.overall)
    # another client reads the same figures from the store
    again = SynthClient(client.store.url, quiet=True).generators.get(reported.id)
    assert again.accuracy == pytest.approx(reported.accuracy)

    sd = _generate(client, reported, rows=150, data_report=True)
    assert sd.generation_status is ProgressStatus.DONE
    sd_table = sd.tables[0]
    assert sd_table.name == "diamonds" and sd_table.total_rows == 150
    _check_metrics(sd_table.tabular_model_metrics)
    assert sd_table.tabular_model_metrics is not None and sd_table.tabular_model_metrics.accuracy is not None
    assert sd.accuracy == pytest.approx(sd_table.tabular_model_metrics.accuracy.overall)
    assert client.synthetic_datasets.get(sd.id).accuracy == pytest.approx(sd.accuracy)

    # without a data report there are no dataset metrics
    plain = _generate(client, reported, rows=10, data_report=False)
    assert plain.tables[0].tabular_model_metrics is None and plain.accuracy is None
    assert plain.reports() is None


# --------------------------------------------------------------------------------------------- reports
def test_reports_zip_in_working_folder(
    client: SynthClient, reported: Generator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = reported.reports(display=False)
    assert path is not None and path.parent == tmp_path and path.suffix == ".zip"
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["diamonds-model-report.html"]
        html = archive.read("diamonds-model-report.html").decode()
    assert html.lstrip().lower().startswith("<!doctype html") and "Model report" in html
    # the same again with file_path=None spelled out
    assert reported.reports(file_path=None) == path

    sd = client.generate(reported, size=60, progress_bar=False)
    sd_path = sd.reports()
    assert sd_path is not None and sd_path.parent == tmp_path and sd_path != path
    with zipfile.ZipFile(sd_path) as archive:
        assert archive.namelist() == ["diamonds-data-report.html"]
        assert "Data report" in archive.read("diamonds-data-report.html").decode()
    assert sorted(p.name for p in tmp_path.glob("*.zip")) == sorted([path.name, sd_path.name])


# ---------------------------------------------------------------------------- cancel / failure safety
def test_cancel_or_failure_keeps_previous_artifact(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    diamonds_df.head(300).to_csv(source / "diamonds.csv", index=False)
    files = fresh_client.connect(
        {
            "name": "files",
            "type": "FILE_UPLOAD",
            "access_type": "READ_PROTECTED",
            "config": {"basePath": str(source)},
        }
    )
    # a time limit (not an epoch limit) keeps both trainings short while leaving time to cancel the clone
    model = {**LONG, "max_training_time": 0.06}
    g = fresh_client.train(
        config={
            "name": "original",
            "random_state": 5,
            "tables": [
                {
                    "name": "diamonds",
                    "source_connector_id": files.id,
                    "location": "diamonds.csv",
                    "tabular_model_configuration": model,
                }
            ],
        },
        progress_bar=False,
    )
    assert g.training_status is ProgressStatus.DONE
    artifact = g._state["artifact"]
    before = fresh_client.probe(g, size=20, config={"random_state": 11})

    cont = g.clone("continue")
    assert cont.training_status is ProgressStatus.CONTINUE
    cont.training.start()
    wait_for_training_step(cont)
    cont.training.cancel()
    assert cont.training_status is ProgressStatus.CANCELED

    # a second clone whose source file has gone fails in the worker
    broken = g.clone("continue")
    (source / "diamonds.csv").rename(source / "moved.csv")
    broken.training.start()
    with pytest.raises(JobFailedError):
        broken.training.wait(progress_bar=False, interval=0.2)
    assert broken.training_status is ProgressStatus.FAILED

    # the original is untouched: same artifact, same probe; a fresh client sees the same
    again = fresh_client.generators.get(g.id)
    assert again.training_status is ProgressStatus.DONE and again._state["artifact"] == artifact
    pd.testing.assert_frame_equal(fresh_client.probe(again, size=20, config={"random_state": 11}), before)
    other = SynthClient(fresh_client.store.url, quiet=True)
    pd.testing.assert_frame_equal(other.probe(g.id, size=20, config={"random_state": 11}), before)
    # nothing half-written anywhere in the store, and the clones keep only what they copied
    store_root = Path(fresh_client.store.path())
    assert leftovers(store_root) == []
    for clone in (cont, broken):
        assert {p.name for p in (store_root / "generators" / clone.id / "artifacts").glob("*")} == {
            clone._state["artifact"]
        }
