"""A schedule factory: regenerate (or retrain and regenerate) a synthetic dataset periodically."""

# No `from __future__ import annotations` here: Dagster reads the decorated functions' type
# hints (context, config, resources) at definition time and needs real types, not strings.

from typing import Any

import dagster as dg

from synth_dagster.integration.assets import SynthAssets

__all__ = ["build_regeneration_schedule"]


def build_regeneration_schedule(
    assets: SynthAssets,
    cron_schedule: str = "0 3 * * 1",
    *,
    name: str | None = None,
    retrain: bool = False,
    size: int | None = None,
    fresh_random_state: bool = True,
    execution_timezone: str = "UTC",
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> dg.ScheduleDefinition:
    """A schedule that requests the synthetic tables and data report (`retrain=True`: the generator,
    its report and checks as well).

    `fresh_random_state`: each tick samples with a random_state taken from its scheduled time, so
    every regeneration is new data and each one can be reproduced from the run's config.
    """
    keys = assets.all_keys if retrain else assets.generation_keys
    schedule_name = name or f"{assets.declaration.name}_{'retrain' if retrain else 'regenerate'}_schedule"
    op_name = assets.generation_op_name

    @dg.schedule(
        cron_schedule=cron_schedule,
        name=schedule_name,
        target=dg.AssetSelection.assets(*keys),
        execution_timezone=execution_timezone,
        default_status=default_status,
        description=f"{'Retrain and regenerate' if retrain else 'Regenerate'} synthetic {assets.declaration.name}.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        when = context.scheduled_execution_time
        config: dict[str, Any] = {}
        if fresh_random_state and when is not None:
            config["random_state"] = int(when.timestamp()) % (2**31)
        if size is not None:
            config["size"] = size
        run_config = {"ops": {op_name: {"config": config}}} if config else {}
        stamp = when.isoformat() if when is not None else "manual"
        return dg.RunRequest(
            run_key=f"{schedule_name}:{stamp}",
            run_config=run_config,
            asset_selection=keys,
            tags={"synth_dagster/trigger": "schedule"},
        )

    return _schedule
