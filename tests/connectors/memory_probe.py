"""Write and read back a 1,000,000-row table in chunks, measuring peak memory (run as a script).

Run in a fresh interpreter by test_large_table.py so that the baseline is clean. Prints one JSON
line: the size of the whole table as one DataFrame and the peak RSS growth while writing and
reading, sampled every 5 ms. A 10-row read before the measured one pays the one-off costs
(importing drivers, starting DuckDB), which do not grow with the table.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd

from synth_dagster.connectors import create_connector

ROWS = 1_000_000
CHUNK = 10_000


def chunks() -> Iterator[pd.DataFrame]:
    rng = np.random.default_rng(7)
    for start in range(0, ROWS, CHUNK):
        n = min(CHUNK, ROWS - start)
        ids = np.arange(start, start + n, dtype="int64")
        yield pd.DataFrame(
            {
                "id": ids,
                "segment": pd.array(np.where(ids % 10 == 0, -1, ids % 1000), dtype="Int64"),
                "x": rng.normal(size=n),
                "y": rng.random(n),
                "flag": (ids % 3) == 0,
                "ts": np.datetime64("2020-01-01", "us") + (ids * 1_000_000).astype("timedelta64[us]"),
                "name": pd.Series([f"customer-{i:09d}-{'abcdefghij' * 3}" for i in ids], dtype="str"),
                "city": pd.Series([f"city-{i % 5000:05d}-somewhere" for i in ids], dtype="str"),
            }
        )


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    def __enter__(self) -> PeakRss:
        gc.collect()
        self.base = rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.base


def main(config: dict, location: str) -> dict:
    connector = create_connector({**config, "access_type": "WRITE_DATA"})
    connector.test_connection()
    # the chunks are alike (fixed-width text), so one chunk's size times their number is the table's
    full_frame_bytes = int(next(chunks()).memory_usage(deep=True).sum()) * (ROWS // CHUNK)
    try:
        with PeakRss() as write:
            t0 = time.monotonic()
            written = connector.write_data(chunks(), location, if_exists="replace", chunk_size=CHUNK)
            write_seconds = time.monotonic() - t0
        connector.read_data(location, limit=10)  # one-off costs (e.g. starting DuckDB) are not per row
        rows, id_sum = 0, 0
        with PeakRss() as read:
            t0 = time.monotonic()
            for chunk in connector.read_data_chunks(location, chunk_size=CHUNK):
                rows += len(chunk)
                id_sum += int(chunk["id"].sum())
            read_seconds = time.monotonic() - t0
    finally:
        connector.delete_data(location)
        connector.close()
    return {
        "rows_written": written,
        "rows_read": rows,
        "id_sum_ok": id_sum == ROWS * (ROWS - 1) // 2,
        "full_frame_bytes": full_frame_bytes,
        "write_peak_rss_growth": write.growth,
        "read_peak_rss_growth": read.growth,
        "write_seconds": round(write_seconds, 2),
        "read_seconds": round(read_seconds, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]), sys.argv[2])))
