"""Hostile table and column names never write outside the folder they belong to (issue 18, point 2).

A table named `../../../../tmp/x` used to put model files and the private training / holdout sample
outside the store. Here every place where a name becomes a path is driven with such names: the
engine workspace (tables, key matchers), the job's input files, the reference rows, the model and
data reports, the synthetic data, export and import, download, delivery to a storage connector and
the Parquet IO manager.
"""

from __future__ import annotations

import os
import uuid
import zipfile
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from conftest import FAST

from synth_dagster.domain.names import path_component
from synth_dagster.integration import ParquetIOManager
from synth_dagster.sdk import SynthClient

TOKEN = uuid.uuid4().hex[:10]
PARENT = f"../../../../tmp/parent-{TOKEN}"
CHILD = f"/tmp/child-{TOKEN}"
ODD = [f"..\\..\\odd-{TOKEN}", f".hidden-{TOKEN}", ".."]
KEY = f"../../key-{TOKEN}"


def _files_named_with_token(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            found += [Path(dirpath) / n for n in dirnames + filenames if TOKEN in n]
    return found


def _frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    parent = pd.DataFrame({"id": np.arange(60), "kind": rng.choice(["a", "b"], 60)})
    child = pd.DataFrame({KEY: rng.integers(0, 60, 300), "amount": rng.normal(10, 2, 300).round(2)})
    frames = {PARENT: parent, CHILD: child}
    frames |= {name: pd.DataFrame({"v": rng.integers(0, 5, 80)}) for name in ODD}
    return frames


def test_path_component_encodes_what_could_leave_a_folder() -> None:
    assert path_component("customers") == "customers"
    assert path_component("Kunden ä (2024)") == "Kunden ä (2024)"
    for hostile in ("..", ".", "../x", "/etc/passwd", "a\\b", "C:x", "%2E%2E", ".git"):
        out = path_component(hostile)
        assert "/" not in out and "\\" not in out and not out.startswith(".") and out not in ("", ".", "..")
    assert path_component("%2E%2E") != path_component("..")  # injective: the escape is escaped too
    assert len(path_component("x" * 256).encode()) <= 200
    assert path_component("x" * 256) != path_component("x" * 255)
    with pytest.raises(ValueError, match="control characters"):
        path_component("a\x00b")


def test_hostile_names_stay_inside_the_store(tmp_path: Path) -> None:
    store_root = tmp_path / "deep" / "er" / "store"
    client = SynthClient(store_root, quiet=True)
    frames = _frames()
    config = {
        "name": f"../../gen-{TOKEN}",
        "random_state": 2,
        "tables": [
            {
                "name": PARENT,
                "data": frames[PARENT],
                "primary_key": "id",
                "tabular_model_configuration": FAST,
            },
            {
                "name": CHILD,
                "data": frames[CHILD],
                "foreign_keys": [{"column": KEY, "referenced_table": PARENT, "is_context": False}],
                "tabular_model_configuration": FAST,
            },
            *({"name": n, "data": frames[n], "tabular_model_configuration": FAST} for n in ODD),
        ],
    }
    outside = [Path("/tmp"), tmp_path]
    g = client.train(config=config, start=False)
    assert all(p.is_relative_to(store_root) for p in _files_named_with_token(*outside))
    g.training.start()
    g.training.wait(progress_bar=False)
    assert g.training_status.value == "DONE", g.training.logs(tmp_path)

    out = tmp_path / "delivered"
    out.mkdir()
    files = client.connect(
        {"type": "FILE_UPLOAD", "access_type": "WRITE_DATA", "config": {"basePath": str(out)}}
    )
    sd = client.generate(
        g,
        size={PARENT: 30, **dict.fromkeys(ODD, 20)},
        config={
            "delivery": {"overwrite_tables": True, "destination_connector_id": files.id, "location": "x"}
        },
    )
    frames_out = sd.data()
    assert set(frames_out) == set(frames)
    assert frames_out[CHILD][KEY].isin(frames_out[PARENT]["id"]).all()
    downloaded = sd.download(tmp_path / "downloads")
    reports = sd.reports(tmp_path / "reports.zip")
    exported = g.export_to_file(tmp_path / "export")
    imported = SynthClient(tmp_path / "second-store", quiet=True).generators.import_from_file(exported)
    assert {t.name for t in imported.tables} == set(frames)

    for archive_path in (downloaded, reports, exported):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                assert not name.startswith("/") and ".." not in name.split("/"), name
    allowed = (store_root, tmp_path / "second-store", out / "x", tmp_path / "downloads", tmp_path / "export")
    stray = [p for p in _files_named_with_token(*outside) if not any(p.is_relative_to(a) for a in allowed)]
    assert stray == [], stray
    assert sorted(p.name for p in (out / "x").iterdir()) == sorted(
        f"{path_component(n)}.parquet" for n in frames
    )


def test_parquet_io_manager_encodes_table_and_partition_names(tmp_path: Path) -> None:
    manager = ParquetIOManager(base_path=str(tmp_path / "io"))
    tables = {f"../../io-{TOKEN}": pd.DataFrame({"a": [1]}), "plain": pd.DataFrame({"a": [2]})}
    context = dg.build_output_context(asset_key=dg.AssetKey(["synthetic"]))
    manager.handle_output(context, tables)
    assert _files_named_with_token(tmp_path) and all(
        p.is_relative_to(tmp_path / "io" / "synthetic") for p in _files_named_with_token(tmp_path)
    )
    back = manager.load_input(dg.build_input_context(asset_key=dg.AssetKey(["synthetic"])))
    assert set(back) == set(tables)
