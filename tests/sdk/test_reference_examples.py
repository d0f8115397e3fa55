"""The reference's Quick Start and single-table usage example, written with SynthClient on real tables."""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from synth_dagster.domain import ProgressStatus
from synth_dagster.sdk import Generator, SynthClient


def test_single_table_example(
    client: SynthClient, census_generator: Generator, census_df: pd.DataFrame
) -> None:
    g = census_generator
    assert g.training_status is ProgressStatus.DONE
    assert g.name == "US Census Income"
    assert [t.name for t in g.tables] == ["census"]
    assert g.tables[0].total_rows == len(census_df)
    assert 0.0 < g.accuracy <= 1.0
    assert g.training_time is not None

    # probe the generator for 100 new synthetic samples
    df_samples = client.probe(g, size=100)
    assert df_samples.shape == (100, census_df.shape[1])
    assert list(df_samples.columns) == list(census_df.columns)

    # probe for a 28-year-old male and a 44-year-old female (the census seed, in this table's columns)
    seed = pd.DataFrame({"age": [28, 44], "gender": ["male", "female"], "region": ["south", "other"]})
    df_samples = client.probe(g, seed=seed)
    assert len(df_samples) == 2
    assert df_samples["age"].tolist() == [28, 44]
    assert df_samples["gender"].tolist() == ["male", "female"]
    assert df_samples["region"].tolist() == ["south", "other"]

    # a synthetic dataset via a batch job
    sd = client.generate(g, size=1_000)
    df_synthetic = sd.data()
    assert sd.generation_status is ProgressStatus.DONE
    assert df_synthetic.shape == (1_000, census_df.shape[1])
    assert set(df_synthetic["gender"]) <= set(census_df["gender"])


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static file server on loopback, standing in for a public URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()


def test_quick_start(
    client: SynthClient,
    titanic_df: pd.DataFrame,
    http_server: tuple[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # train a single-table generator, with default configs
    g = client.train(name="Quick Start Demo - Titanic", data=titanic_df)
    assert g.training_status is ProgressStatus.DONE
    assert g.tables[0].name == "data"

    # the quality assurance report (display=True needs a notebook; the ZIP is the same content)
    reports = g.reports(file_path=tmp_path_factory.mktemp("reports"))
    with zipfile.ZipFile(reports) as archive:
        assert archive.namelist() == ["data-model-report.html"]
        assert b"<html" in archive.read("data-model-report.html").lower()

    # generate a representative synthetic dataset, with default configs
    sd = client.generate(g)
    df = sd.data()
    assert len(df) == len(titanic_df)
    assert sd.reports(file_path=tmp_path_factory.mktemp("sd-reports")) is not None

    # or simply probe for some samples
    df = client.probe(g, size=100)
    assert df.shape == (100, titanic_df.shape[1])

    # the first half of the Quick Start: import a trained generator from a URL, then probe it
    base_url, served = http_server
    g.export_to_file(served / "titanic-generator.zip")
    other = SynthClient(tmp_path_factory.mktemp("other-store"), quiet=True)
    imported = other.generators.import_from_file(f"{base_url}/titanic-generator.zip")
    assert imported.training_status is ProgressStatus.DONE
    df = other.probe(imported, size=1000)
    assert len(df) == 1000

    # create 10k records of 24-year-old male passengers
    df = other.probe(imported, seed=[{"age": 24, "sex": "male"}] * 10_000)
    assert len(df) == 10_000
    assert (df["age"] == 24).all() and (df["sex"] == "male").all()
