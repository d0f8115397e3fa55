"""Export to a ZIP and import into another store: same probes, and nothing private in the file."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk import Generator, JobStateError, SynthClient


def test_export_import_gives_identical_probes(
    client: SynthClient, census_generator: Generator, census_df: pd.DataFrame, tmp_path: Path
) -> None:
    exported = census_generator.export_to_file(tmp_path / "census.zip")
    other = SynthClient(tmp_path / "second-store", quiet=True)
    imported = other.generators.import_from_file(exported)

    assert imported.id != census_generator.id
    assert imported.training_status is ProgressStatus.DONE
    assert imported.name == census_generator.name
    assert imported.accuracy == pytest.approx(census_generator.accuracy)
    assert imported.config().tables[0].name == "census"

    config = {"random_state": 42}
    first = client.probe(census_generator, size=300, config=config)
    second = other.probe(imported, size=300, config=config)
    pd.testing.assert_frame_equal(first, second)
    seeded = other.probe(imported, seed=census_df[["age", "gender"]].head(20), config=config)
    pd.testing.assert_frame_equal(
        seeded, client.probe(census_generator, seed=census_df[["age", "gender"]].head(20), config=config)
    )

    # generation from an imported generator works; it has no reference rows, so no data report
    sd = other.generate(imported, size=50)
    assert len(sd.data()) == 50
    assert sd.reports() is None

    # export of the import gives the same model files
    again = imported.export_to_file(tmp_path / "again.zip")
    with zipfile.ZipFile(exported) as a, zipfile.ZipFile(again) as b:
        models_a = {n: a.read(n) for n in a.namelist() if n.startswith("model/")}
        models_b = {n: b.read(n) for n in b.namelist() if n.startswith("model/")}
    assert models_a == models_b


def test_export_holds_no_training_rows(
    client: SynthClient, census_generator: Generator, census_df: pd.DataFrame, tmp_path: Path
) -> None:
    exported = census_generator.export_to_file(tmp_path)
    assert exported.parent == tmp_path and exported.suffix == ".zip"
    with zipfile.ZipFile(exported) as archive:
        names = archive.namelist()
        assert "synth_dagster_generator.json" in names and "statistics.json" in names
        assert any(n.startswith("model/") for n in names)
        assert "reports/census-model-report.html" in names
        tops = {n.split("/")[0] for n in names}
        assert tops <= {"synth_dagster_generator.json", "statistics.json", "model", "reports"}
        assert not any(n.endswith(".parquet") for n in names)
        blob = b"".join(archive.read(n) for n in names if not n.endswith((".html", ".pt")))
    # the store keeps reference rows for data reports; they must not be in the export
    store_qa = client.store.find(f"{census_generator.directory}/qa")
    assert store_qa, "the store should hold private reference rows"
    assert b"qa/" not in blob and b"holdout.parquet" not in blob


def test_import_refuses_bad_files(client: SynthClient, tmp_path: Path) -> None:
    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    with pytest.raises(JobStateError, match="not a ZIP"):
        client.generators.import_from_file(not_zip)
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as archive:
        archive.writestr("something.json", "{}")
    with pytest.raises(JobStateError, match="not a synth_dagster generator"):
        client.generators.import_from_file(foreign)
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("synth_dagster_generator.json", "{}")
        archive.writestr("model/../../escape.txt", "x")
    (tmp_path / "evil.zip").write_bytes(evil.getvalue())
    with pytest.raises(JobStateError, match="unsafe path"):
        client.generators.import_from_file(tmp_path / "evil.zip")
    with pytest.raises(FileNotFoundError):
        client.generators.import_from_file(tmp_path / "missing.zip")


def test_export_needs_a_trained_generator(client: SynthClient, diamonds_df: pd.DataFrame) -> None:
    g = client.generators.create({"name": "untrained", "tables": [{"name": "t", "data": diamonds_df}]})
    with pytest.raises(JobStateError, match="only DONE"):
        g.export_to_file()
    g.delete()
