"""Issue 18, points 1, 4, 5 and 7: no code runs from an imported generator, imports are checked
before anything is stored, private samples are owner-only, and reports show only protected values."""

from __future__ import annotations

import json
import shutil
import stat
import uuid
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_zip, zip_members

from synth_dagster.engine import TrainedGenerator
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.sdk import Generator, InvalidFileError, SynthClient
from synth_dagster.sdk.archive import sha256_of

MANIFEST = "synth_dagster_generator.json"


class _Payload:
    """Pickled, it creates a file when unpickled: what a crafted FixedCombinations file could do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickle_workspace(people_generator: Generator, target: Path, marker: Path) -> Path:
    """The generator's model folder as an older version wrote it: combinations as a pickle."""
    store = people_generator.store
    source = Path(store.path(people_generator.paths.artifacts(people_generator._state["artifact"]), "model"))
    shutil.copytree(source, target)
    parquet = next(target.rglob("combinations_0.parquet"))
    import pickle

    parquet.with_suffix(".pkl").write_bytes(pickle.dumps(_Payload(marker)))
    parquet.unlink()
    return target


def test_a_pickled_constraint_file_never_runs(people_generator: Generator, tmp_path: Path) -> None:
    marker = tmp_path / f"pwned-{uuid.uuid4().hex[:6]}"
    workspace = _pickle_workspace(people_generator, tmp_path / "model", marker)
    # loading the workspace directly: refused with a message, nothing unpickled
    trained = TrainedGenerator(workspace)
    with pytest.raises(EngineInputError, match="pickle, which is never loaded.*train the generator again"):
        trained.model("people")
    # importing it inside an export whose manifest lists the pickle (as an attacker would write it)
    members = {
        f"model/{p.relative_to(workspace).as_posix()}": p.read_bytes()
        for p in workspace.rglob("*")
        if p.is_file()
    }
    manifest = json.loads(zip_members(people_generator.export_to_file(tmp_path / "e.zip"))[MANIFEST])
    manifest["files"] = {n: {"size": len(b), "sha256": sha256_of(b)} for n, b in members.items()}
    crafted = write_zip(tmp_path / "crafted.zip", {MANIFEST: json.dumps(manifest).encode(), **members})
    client = SynthClient(tmp_path / "other", quiet=True)
    with pytest.raises(InvalidFileError, match="files no generator writes"):
        client.generators.import_from_file(crafted)
    assert not marker.exists()
    assert list(client.generators.list()) == []


def test_export_lists_every_member_with_size_and_hash(people_export: Path) -> None:
    members = zip_members(people_export)
    manifest = json.loads(members.pop(MANIFEST))
    assert manifest["format"] == 2
    assert set(manifest["files"]) == set(members)
    for name, data in members.items():
        assert manifest["files"][name] == {"size": len(data), "sha256": sha256_of(data)}
    assert not any(n.endswith(".pkl") for n in members)
    assert any(n.endswith("combinations_0.parquet") for n in members)


def test_a_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    """A member that unpacks to 64 MiB from a few KiB is refused from its header alone."""
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(MANIFEST, json.dumps({"format": 2}))
        out.writestr("model/tables/t/model.pt", b"\0" * (64 << 20))
    assert path.stat().st_size < 200_000
    client = SynthClient(tmp_path / "store", quiet=True)
    with pytest.raises(InvalidFileError, match=r"unpacks \d[\d,]* times larger.*MAX_RATIO"):
        client.generators.import_from_file(path)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_private_samples_are_owner_only(
    trust_client: SynthClient, people_generator: Generator, people_df: pd.DataFrame
) -> None:
    root = Path(trust_client.store.path())
    qa = root / people_generator.directory / "qa"
    files = [p for p in qa.rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files), [(p, oct(_mode(p))) for p in files]
    assert all(_mode(p) == 0o700 for p in [qa, *(p for p in qa.rglob("*") if p.is_dir())])
    pending = trust_client.train(config={"tables": [{"name": "p", "data": people_df}]}, start=False)
    try:
        inputs = root / pending.directory / "job" / "input"
        assert _mode(inputs) == 0o700 and all(_mode(p) == 0o600 for p in inputs.iterdir())
    finally:
        pending.delete()


def test_reports_hold_no_value_of_a_single_record(
    trust_client: SynthClient, people_generator: Generator, people_df: pd.DataFrame, tmp_path: Path
) -> None:
    """Every report (model report in the store and in the export, data report) is searched for the
    unique customer ids and the exact incomes and timestamps that single records hold."""
    sd = trust_client.generate(people_generator, size=200)
    htmls = []
    for path in (people_generator.reports(tmp_path / "model.zip"), sd.reports(tmp_path / "data.zip")):
        with zipfile.ZipFile(path) as archive:
            htmls += [archive.read(n).decode() for n in archive.namelist()]
    with zipfile.ZipFile(people_generator.export_to_file(tmp_path / "x.zip")) as archive:
        htmls += [archive.read(n).decode() for n in archive.namelist() if n.endswith(".html")]
    assert len(htmls) == 3
    single = lambda column: people_df[column][~people_df[column].duplicated(keep=False)]  # noqa: E731
    needles = [*single("customer_id"), *single("ticket")]
    needles += [f"{v:.2f}" for v in single("income") if v >= 1000]
    needles += [pd.Timestamp(v).strftime("%Y-%m-%d %H:%M:%S") for v in single("joined")]
    for html in htmls:
        found = [n for n in needles if n in html]
        assert found == [], found[:5]
    # the common values are there: the report is not empty
    assert all("Vienna" in html for html in htmls)
