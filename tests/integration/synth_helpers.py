"""Helpers shared by the synth_dagster integration tests (imported by module name, like conftest)."""

from __future__ import annotations

import dagster as dg

# two epochs on a few hundred rows: enough for every code path, seconds per generator
FAST_MODEL = {"max_epochs": 2, "max_training_time": 0.5}


def metadata_of(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    """The plain values of the latest materialization metadata of `key` in a run."""
    events = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    assert events, f"no materialization of {key}"
    return {k: getattr(v, "value", v) for k, v in events[-1].materialization.metadata.items()}


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """Everything a user sees of the run's step failures (message, description, metadata)."""
    texts = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            texts.append(str(data.error.message if data.error else ""))
            if data.user_failure_data is not None:
                texts.append(str(data.user_failure_data.description))
                texts.append(str(data.user_failure_data.metadata))
    return "\n".join(texts)
