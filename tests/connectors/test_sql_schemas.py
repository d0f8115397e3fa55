"""Writing to a schema (or MySQL database) that does not exist yet creates it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from connector_frames import id_frame
from connector_helpers import MARIA, PG, reachable, unique

from synth_dagster.connectors import LocationNotFoundError, create_connector


@pytest.mark.parametrize(
    ("kind", "config", "url", "drop"),
    [
        ("POSTGRES", PG, "postgresql+psycopg2://postgres@127.0.0.1:5432/test", "DROP SCHEMA {} CASCADE"),
        ("MARIADB", MARIA, "mysql+pymysql://root@127.0.0.1:3306/", "DROP DATABASE {}"),
    ],
)
def test_missing_schema_is_created(kind: str, config: dict, url: str, drop: str) -> None:
    if not reachable("127.0.0.1", config["port"]):
        pytest.skip(f"no {kind} server")
    schema = unique("sd_schema")
    c = create_connector({"type": kind, "access_type": "WRITE_DATA", "config": config})
    try:
        assert c.write_data(id_frame(3), f"{schema}.t") == 3
        assert schema in c.locations()
        assert c.locations(schema) == [f"{schema}.t"]
    finally:
        c.close()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(drop.format(schema))
        engine.dispose()


def test_sqlite_schema_must_exist(tmp_path) -> None:
    c = create_connector(
        {"type": "SQLITE", "access_type": "WRITE_DATA", "config": {"database": str(tmp_path / "x.db")}}
    )
    with pytest.raises(LocationNotFoundError, match="does not exist"):
        c.write_data(id_frame(1), "other.t")
