"""1,000,000 rows written and read back in chunks: peak memory stays well below the whole table.

Each case runs memory_probe.py in a fresh interpreter (a clean RSS baseline) and checks that the
peak RSS growth while writing, and while reading, is under 40% of the table held as one DataFrame
(about 127 MB here): chunks of 10,000 rows, at most a few of them alive at a time, plus the
drivers' and allocators' fixed buffers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from connector_helpers import MARIA, PG, reachable

PROBE = os.path.join(os.path.dirname(__file__), "memory_probe.py")


def _probe(config: dict, location: str) -> dict:
    out = subprocess.run(
        [sys.executable, PROBE, json.dumps(config), location],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _check(figures: dict) -> None:
    print(json.dumps(figures, indent=1))
    assert figures["rows_written"] == figures["rows_read"] == 1_000_000
    assert figures["id_sum_ok"]
    full = figures["full_frame_bytes"]
    assert full > 100e6  # the table is big enough for the comparison to mean something
    for phase in ("write", "read"):
        assert figures[f"{phase}_peak_rss_growth"] < 0.4 * full, (phase, figures)


@pytest.mark.slow
@pytest.mark.skipif(not reachable("127.0.0.1", 5432), reason="no PostgreSQL on 127.0.0.1:5432")
def test_million_rows_postgres() -> None:
    _check(_probe({"type": "POSTGRES", "config": PG}, f"public.big_{uuid.uuid4().hex[:10]}"))


@pytest.mark.slow
def test_million_rows_parquet_folder(tmp_path) -> None:
    _check(_probe({"type": "FILE_UPLOAD", "config": {"basePath": str(tmp_path)}}, "big/table"))


@pytest.mark.slow
@pytest.mark.skipif(not reachable("127.0.0.1", 3306), reason="no MariaDB on 127.0.0.1:3306")
def test_million_rows_mariadb() -> None:
    _check(_probe({"type": "MARIADB", "config": MARIA}, f"test.big_{uuid.uuid4().hex[:10]}"))


@pytest.mark.slow
def test_million_rows_sqlite(tmp_path) -> None:
    _check(_probe({"type": "SQLITE", "config": {"database": str(tmp_path / "big.db")}}, "main.big"))
