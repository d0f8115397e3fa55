"""`python -m synth_dagster.pipes_training`: train a generator inside a Dagster Pipes session.

Runs where the training should run -- a GPU pod started by `PipesK8sClient`, a Databricks or Ray
job, or a local subprocess (`PipesSubprocessClient`) -- and reports back to the Dagster run that
started it: log lines as it goes, and the generator's materialization (its id in the shared store,
accuracy, device, training time) at the end. Only `dagster-pipes` and this package are needed on
that machine, not Dagster itself.

Extras (what the launching asset passes): `local_dir` (the shared store: a folder or an fsspec
URL), `storage_options`, `data` (a Parquet file or URL of the training table), `table` (its name;
default "data"), `table_config` (SourceTableConfig fields such as `primary_key`), `model`
(ModelConfiguration fields), `name`, `device` ("auto", "cpu", "cuda[:N]"; default "auto").
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
from dagster_pipes import PipesContext, open_dagster_pipes

from synth_dagster.sdk import SynthClient

POLL_SECONDS = 2.0


def train(pipes: PipesContext) -> dict[str, Any]:
    extras = pipes.extras
    client = SynthClient(
        extras["local_dir"],
        quiet=True,
        storage_options=extras.get("storage_options"),
        device=extras.get("device", "auto"),
    )
    frame = pd.read_parquet(extras["data"], storage_options=extras.get("storage_options"))
    table = extras.get("table", "data")
    config = {
        "name": extras.get("name"),
        "tables": [
            {
                **(extras.get("table_config") or {}),
                "name": table,
                "data": frame,
                "tabular_model_configuration": extras.get("model") or {},
            }
        ],
    }
    pipes.log.info(
        f"training {table!r} ({len(frame)} rows, {frame.shape[1]} columns) on {client.resolved_device()} "
        f"into {client.store.url}"
    )
    started = time.monotonic()
    generator = client.train(config=config, wait=False)
    seen = 0
    while generator.training_status.is_active:  # progress lines as the job writes them
        steps = generator.training.progress().steps or []
        done = sum(1 for s in steps if s.status.value == "DONE")
        if done > seen:
            pipes.log.info(f"{done} of {len(steps)} training steps done")
            seen = done
        time.sleep(POLL_SECONDS)
        generator.reload()
    generator.training.wait(progress_bar=False)
    seconds = time.monotonic() - started
    status = generator.training_status.value
    if status != "DONE":
        raise RuntimeError(f"training ended {status}; see the job log in {client.store.url}")
    pipes.log.info(f"generator {generator.id} trained in {seconds:.0f}s")
    return {
        "generator_id": generator.id,
        "accuracy": generator.accuracy,
        "device": client.resolved_device(),
        "training_seconds": round(seconds, 1),
        "rows": len(frame),
    }


def main() -> None:
    with open_dagster_pipes() as pipes:
        metadata = train(pipes)
        pipes.report_asset_materialization(metadata={k: v for k, v in metadata.items() if v is not None})


if __name__ == "__main__":
    main()
