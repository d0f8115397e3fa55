"""The connector interface against every family with a local service or emulator.

Families: PostgreSQL and MariaDB (real servers), SQLite, local Parquet / CSV / JSON files and
folders, S3 (moto server on loopback) and Snowflake (fakesnow emulator).
"""

from __future__ import annotations

import pandas as pd
import pytest
from connector_frames import expected_back, id_frame, typed_frame
from connector_helpers import Family, unique

from synth_dagster.connectors import (
    AccessDeniedError,
    LocationExistsError,
    LocationNotFoundError,
)


def test_type_round_trip(typed_family: Family, cleanup) -> None:
    c = typed_family.connector()
    loc = typed_family.location(unique())
    cleanup(c, loc)
    df = typed_frame()
    assert c.write_data(df, loc) == 3
    back = c.read_data(loc)
    pd.testing.assert_frame_equal(back, expected_back(df))
    # the schema describes what read_data returns
    assert [col["dtype"] for col in c.schema(loc)] == [str(t) for t in back.dtypes]


@pytest.mark.parametrize("ext", ["csv", "jsonl"])
def test_text_file_round_trip(tmp_path, ext: str, cleanup) -> None:
    """CSV and JSON carry no types: values survive, ints and bools come back nullable, decimals as floats."""
    from synth_dagster.connectors import create_connector

    c = create_connector(
        {"type": "FILE_UPLOAD", "access_type": "WRITE_DATA", "config": {"basePath": str(tmp_path)}}
    )
    loc = f"out/{unique()}.{ext}"
    df = typed_frame().drop(columns=["all_null"])
    c.write_data(df, loc)
    back = c.read_data(loc)
    exp = expected_back(df)
    exp["int"] = exp["int"].astype("Int64")
    exp["bool"] = exp["bool"].astype("boolean")
    exp["decimal"] = exp["decimal"].astype("float64")
    pd.testing.assert_frame_equal(back, exp)


def test_locations_and_schema(family: Family, cleanup) -> None:
    c = family.connector()
    name = unique()
    loc = family.location(name)
    cleanup(c, loc)
    c.write_data(id_frame(5), loc)
    assert family.container in [entry.rstrip("/") for entry in c.locations("")]
    listed = c.locations(family.container)
    assert any(name in entry for entry in listed), listed
    if family.name in ("s3", "gcs", "azure"):
        scheme = {"s3": "s3", "gcs": "gs", "azure": "abfs"}[family.name]
        assert c.locations(f"{scheme}://{family.container}") == listed  # URLs as in the reference
        assert len(c.read_data(f"{scheme}://{loc}")) == 5
    schema = c.schema(loc)
    assert [col["name"] for col in schema] == ["id", "label"]
    assert schema[1]["dtype"] == "str"


def test_chunked_read_with_limit_and_shuffle(family: Family, cleanup) -> None:
    c = family.connector()
    loc = family.location(unique())
    cleanup(c, loc)
    c.write_data(id_frame(1000), loc, chunk_size=300)

    chunks = list(c.read_data_chunks(loc, chunk_size=300))
    assert sum(len(ch) for ch in chunks) == 1000
    assert max(len(ch) for ch in chunks) <= 300 and len(chunks) >= 4
    assert len({tuple(str(t) for t in ch.dtypes) for ch in chunks}) == 1  # same dtypes in every chunk

    first = c.read_data(loc, limit=10)
    assert len(first) == 10
    shuffled = c.read_data(loc, shuffle=True)
    assert sorted(shuffled["id"]) == list(range(1000))
    assert list(shuffled["id"]) != list(range(1000))  # 1/1000! chance of a false failure
    sample = c.read_data(loc, limit=20, shuffle=True)
    assert len(sample) == 20 and sample["id"].nunique() == 20
    assert sorted(sample["id"]) != list(range(20))
    assert len(c.read_data(loc, limit=0)) == 0


def test_if_exists(family: Family, cleanup) -> None:
    c = family.connector()
    loc = family.location(unique())
    cleanup(c, loc)
    c.write_data(id_frame(3), loc)
    with pytest.raises(LocationExistsError):
        c.write_data(id_frame(5), loc)  # default: fail
    assert len(c.read_data(loc)) == 3
    assert c.write_data(id_frame(4, start=3), loc, if_exists="append") == 4
    assert sorted(c.read_data(loc)["id"]) == list(range(7))
    c.write_data(id_frame(2, start=100), loc, if_exists="REPLACE")
    assert sorted(c.read_data(loc)["id"]) == [100, 101]
    with pytest.raises(ValueError):
        c.write_data(id_frame(1), loc, if_exists="upsert")


def test_streamed_write_and_failed_replace_keeps_data(family: Family, cleanup) -> None:
    c = family.connector()
    loc = family.location(unique())
    cleanup(c, loc)
    assert c.write_data((id_frame(50, start=i * 50) for i in range(4)), loc) == 200

    def broken():
        yield id_frame(10, start=1000)
        raise RuntimeError("source failed mid-way")

    with pytest.raises(Exception, match="source failed"):
        c.write_data(broken(), loc, if_exists="replace")
    assert sorted(c.read_data(loc)["id"]) == list(range(200))  # the old data is intact
    # and no temporary table or file is left behind
    assert all("sdtmp" not in entry for entry in c.locations(family.container))


def test_delete_and_unknown_location(family: Family, cleanup) -> None:
    c = family.connector()
    name = unique()
    loc = family.location(name)
    cleanup(c, loc)
    c.write_data(id_frame(2), loc)
    c.delete_data(loc)
    with pytest.raises(LocationNotFoundError, match=name):
        c.read_data(loc)
    with pytest.raises(LocationNotFoundError):
        c.schema(loc)
    with pytest.raises(LocationNotFoundError):
        c.delete_data(loc)


def test_access_types(family: Family, cleanup) -> None:
    writer = family.connector()
    loc = family.location(unique())
    cleanup(writer, loc)
    writer.write_data(id_frame(3), loc)

    for access in ("READ_PROTECTED", "SOURCE"):
        protected = family.connector(access)
        assert protected.schema(loc)[0]["name"] == "id"
        assert protected.locations(family.container)
        for call in (
            lambda p=protected: p.read_data(loc),
            lambda p=protected: p.read_data_chunks(loc),
            lambda p=protected: p.query("SELECT 1"),
            lambda p=protected: p.write_data(id_frame(1), loc, if_exists="append"),
            lambda p=protected: p.delete_data(loc),
        ):
            with pytest.raises(AccessDeniedError):
                call()
        assert len(protected.read_training_data(loc)) == 3  # training may still read
        protected.close()

    reader = family.connector("READ_DATA")
    assert len(reader.read_data(loc)) == 3
    with pytest.raises(AccessDeniedError, match="WRITE_DATA"):
        reader.write_data(id_frame(1), loc, if_exists="append")
    with pytest.raises(AccessDeniedError):
        reader.delete_data(loc)
    reader.close()
    destination = family.connector("DESTINATION")  # deprecated alias of WRITE_DATA
    assert destination.write_data(id_frame(1, start=3), loc, if_exists="append") == 1
    destination.close()
    assert len(writer.read_data(loc)) == 4
