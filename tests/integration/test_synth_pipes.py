"""Training out of process through Dagster Pipes: a subprocess trains into the shared store and
reports its log lines and the generator's metadata back to the run."""

import sys
from pathlib import Path

import dagster as dg
import pandas as pd

import synth_dagster
from synth_dagster.sdk import SynthClient

ROOT = Path(synth_dagster.__file__).resolve().parents[1]


def test_a_generator_asset_trains_in_a_pipes_subprocess(tmp_path: Path, flights_frame: pd.DataFrame) -> None:
    data = tmp_path / "flights.parquet"
    flights_frame.to_parquet(data, index=False)
    store = tmp_path / "store"

    @dg.asset
    def flights_generator(
        context: dg.AssetExecutionContext, pipes: dg.PipesSubprocessClient
    ) -> dg.MaterializeResult:
        return pipes.run(
            command=[sys.executable, "-m", "synth_dagster.pipes_training"],
            context=context,
            extras={
                "local_dir": str(store),
                "data": str(data),
                "table": "flights",
                "name": "flights",
                "device": "cpu",
                "model": {"max_epochs": 1, "max_training_time": 0.5, "enable_model_report": False},
            },
        ).get_materialize_result()

    # why cwd: the subprocess imports this checkout's package, as the pod would import its image's
    instance = dg.DagsterInstance.ephemeral()
    resources = {"pipes": dg.PipesSubprocessClient(cwd=str(ROOT))}
    result = dg.materialize([flights_generator], resources=resources, instance=instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    assert meta["device"] == "cpu" and meta["rows"] == len(flights_frame) and meta["training_seconds"] > 0
    generator = SynthClient(store, quiet=True).generators.get(str(meta["generator_id"]))
    assert generator.training_status.value == "DONE"
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("training 'flights' (300 rows" in m for m in messages)
    assert any(f"generator {generator.id} trained in" in m for m in messages)
