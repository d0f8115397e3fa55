"""Records and listings: get / list / update / delete, downloads, shorthands and their error messages."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from synth_dagster.domain import ConfigError, ProgressStatus
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.sdk import Generator, JobStateError, NotFoundError, SynthClient


def test_models_and_about(client: SynthClient) -> None:
    models = client.models()
    assert models["TABULAR"] == ["MOSTLY_AI/Small", "MOSTLY_AI/Medium", "MOSTLY_AI/Large"]
    assert models["LANGUAGE"]
    about = client.about()
    assert about["version"] and about["local_dir"] == client.store.url
    assert repr(client).startswith("SynthClient(local_dir=")


def test_create_list_filter_update_delete(
    fresh_client: SynthClient, diamonds_df: pd.DataFrame, tmp_path: Path
) -> None:
    csv = tmp_path / "diamonds.csv"
    diamonds_df.to_csv(csv, index=False)
    a = fresh_client.train(data=csv, name="Census alpha", start=False)
    b = fresh_client.generators.create(
        {"name": "beta", "description": "census run", "tables": [{"name": "t", "data": str(csv)}]}
    )
    c = fresh_client.generators.create({"name": "gamma", "tables": [{"name": "t", "data": diamonds_df}]})
    assert a.training_status is ProgressStatus.NEW
    assert a.tables[0].name == "data" and a.tables[0].columns == list(diamonds_df.columns)
    # the training rows wait in the private job input until a job has used them
    assert fresh_client.store.find(f"{a.directory}/job/input") == ["data.parquet"]

    assert [g.name for g in fresh_client.generators.list()] == ["gamma", "beta", "Census alpha"]
    assert [g.name for g in fresh_client.generators.list(offset=1, limit=1)] == ["beta"]
    assert {g.name for g in fresh_client.generators.list(search_term="CENSUS")} == {"Census alpha", "beta"}
    assert len(list(fresh_client.generators.list(status="NEW"))) == 3
    assert list(fresh_client.generators.list(status=["DONE", "FAILED"])) == []
    today = dt.datetime.now(dt.UTC).date()
    assert len(list(fresh_client.generators.list(created_from=str(today), created_to=str(today)))) == 3
    assert list(fresh_client.generators.list(created_to=str(today - dt.timedelta(days=1)))) == []
    with pytest.raises(EngineInputError, match="YYYY-MM-DD"):
        list(fresh_client.generators.list(created_from="yesterday"))
    with pytest.raises(EngineInputError, match="unknown status"):
        list(fresh_client.generators.list(status="TRAINED"))

    b.update(name="beta 2", description="renamed")
    again = fresh_client.generators.get(b.id)
    assert (again.name, again.description) == ("beta 2", "renamed")
    assert again.config().tables[0].name == "t"
    c.delete()
    with pytest.raises(NotFoundError, match="no generator with id"):
        fresh_client.generators.get(c.id)
    assert len(list(fresh_client.generators.list())) == 2
    with pytest.raises(JobStateError, match="not DONE"):
        fresh_client.generate(a)
    with pytest.raises(JobStateError, match="not DONE"):
        fresh_client.probe(a)
    with pytest.raises(JobStateError, match="no .*job yet"):
        a.training.logs()


def test_bad_input_messages(client: SynthClient, census_generator: Generator) -> None:
    with pytest.raises(EngineInputError, match="needs a config, or data"):
        client.train()
    with pytest.raises(EngineInputError, match="either config or data"):
        client.train(config={"tables": []}, data=pd.DataFrame({"a": [1]}))
    with pytest.raises(EngineInputError, match="no such file"):
        client.train(data="/nonexistent/file.csv")
    with pytest.raises(EngineInputError, match="positive integer"):
        client.probe(census_generator, size=0)
    with pytest.raises(EngineInputError, match="does not have"):
        client.probe(census_generator, size={"other": 3})
    with pytest.raises(ConfigError, match="seed column 'nope'"):
        client.probe(census_generator, seed=pd.DataFrame({"nope": [1]}))
    with pytest.raises(EngineInputError, match="generator_id"):
        client.synthetic_datasets.create({"name": "x"})
    with pytest.raises(NotFoundError):
        client.probe("no-such-generator")
    mixed = pd.DataFrame({"a": [1, "two", 3.0]})
    with pytest.raises(EngineInputError, match="column 'a' cannot be stored"):
        client.generators.create({"name": "mixed", "tables": [{"name": "t", "data": mixed}]})


def test_probe_shorthands(client: SynthClient, census_generator: Generator) -> None:
    one = client.probe(census_generator)
    assert len(one) == 1  # a probe without size gives one subject, as in the reference
    as_dict = client.probe(census_generator, size=3, return_type="dict")
    assert list(as_dict) == ["census"] and len(as_dict["census"]) == 3
    records = client.probe(census_generator, seed={"age": [30, 31], "gender": ["female", "male"]})
    assert records["age"].tolist() == [30, 31]


def test_synthetic_dataset_record(client: SynthClient, census_generator: Generator, tmp_path: Path) -> None:
    sd = client.synthetic_datasets.create(
        {
            "generator_id": census_generator.id,
            "name": "census sample",
            "random_state": 1,
            "tables": [{"name": "census", "configuration": {"sample_size": 40, "sampling_temperature": 0.5}}],
        }
    )
    assert sd.generation_status is ProgressStatus.NEW
    assert sd.config().tables[0].configuration.sample_size == 40
    sd.generation.start()
    sd.generation.wait(progress_bar=False, interval=0.2)
    assert sd.generation_status is ProgressStatus.DONE and sd.generation_time is not None
    frame = sd.data()
    assert len(frame) == 40
    assert list(sd.data(return_type="dict")) == ["census"]
    parquet = sd.download(tmp_path / "sd.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), frame)
    assert len(pd.read_csv(sd.download(tmp_path / "sd.csv", format="csv"))) == 40
    assert len(json.loads(sd.download(tmp_path, format="json").read_text())) == 40
    with pytest.raises(ValueError, match="format"):
        sd.download(tmp_path / "x.xlsx", format="xlsx")  # type: ignore[arg-type]
    with zipfile.ZipFile(sd.reports(tmp_path)) as archive:
        assert archive.namelist() == ["census-data-report.html"]
    assert sd.tables[0].tabular_model_metrics is not None and sd.accuracy is not None
    assert sd.generator_id == census_generator.id
    sd.update(
        name="renamed", delivery={"destination_connector_id": "c", "location": "x", "overwrite_tables": False}
    )
    again = client.synthetic_datasets.get(sd.id)
    assert again.name == "renamed" and again.delivery is not None and again.delivery.location == "x"
    assert sd.id in {x.id for x in client.synthetic_datasets.list(search_term="renamed")}
    with pytest.raises(JobStateError, match="already DONE"):
        sd.generation.start()
    sd.delete()
    with pytest.raises(NotFoundError):
        client.synthetic_datasets.get(sd.id)


def test_progress_of_a_trained_generator(census_generator: Generator) -> None:
    progress = census_generator.training.progress()
    assert progress.status is ProgressStatus.DONE and progress.fraction == 1.0
    codes = [s.step_code.value for s in progress.steps or []]
    assert codes[:4] == ["PULL_TRAINING_DATA", "ANALYZE_TRAINING_DATA", "ENCODE_TRAINING_DATA", "TRAIN_MODEL"]
    assert codes[-1] == "FINALIZE_TRAINING"
    assert "Generator(" in repr(census_generator) and "training_status=DONE" in repr(census_generator)
    table = census_generator.tables[0]
    assert table.summary["epochs"] > 0 and table.summary["rows"] == table.total_rows
    assert table.report and table.report.endswith("census-model-report.html")


def test_progress_display_renders(census_generator: Generator) -> None:
    from synth_dagster.sdk.progress import JobDisplay

    with JobDisplay(True, "Training test") as display:
        display.update(census_generator.training.progress())
        display.update(None)


def test_frames_with_non_string_column_names(fresh_client: SynthClient) -> None:
    frame = pd.DataFrame({0: [1, 2, 3], 1: ["a", "b", "c"]})
    g = fresh_client.generators.create({"name": "ints", "tables": [{"name": "t", "data": frame}]})
    assert [c.name for c in g.config().tables[0].columns] == ["0", "1"]
