"""`SynthResource`: the store of generators and synthetic datasets, and the runs that fill it.

Its `train` and `generate` methods are what the asset factories' bodies call (like
`SlingResource.replicate`): they build the configs, call the sdk client and yield
MaterializeResults and AssetCheckResults. No training or metric code lives here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from synth_dagster.domain import ModelMetrics
from synth_dagster.integration import metadata as md
from synth_dagster.integration.checks import evaluate_checks, failure_message
from synth_dagster.integration.declaration import SyntheticData
from synth_dagster.integration.jobs import DEFAULT_INTERVAL_SECONDS, train_generator
from synth_dagster.integration.runconfig import GenerateRunConfig, TrainRunConfig
from synth_dagster.integration.translator import ROLE_KEY, TABLE_KEY
from synth_dagster.sdk import Generator, SynthClient

__all__ = ["SynthResource"]

_DEVICES = ("auto", "cpu", "cuda", "mps")
# how many past generator materializations to search for one that passed its blocking checks
_GENERATOR_HISTORY = 50


class SynthResource(dg.ConfigurableResource):
    """Where generators and synthetic datasets live, and defaults for training them.

    - `local_dir`: a folder, or an fsspec URL (`s3://bucket/prefix`, `gs://...`, `az://...`) so that
      several workers share one store. Default `~/.synth_dagster`.
    - `storage_options`: fsspec options for that URL; pass credentials as `dagster.EnvVar(...)`
      (the UI then shows only the variable's name; the resource's repr masks every value).
    - `device`: "auto" (CUDA when torch sees a GPU, else the CPU), "cpu", "cuda[:N]" or "mps": where
      training and generation jobs run; a GPU asked for but absent falls back to the CPU with a log
      line. A table's `compute` (a device name) wins over it.
    - `max_training_time` (minutes) and `max_epochs`: defaults for every generator; a declaration's
      `model` settings and run config win over them.
    - `log_interval_seconds`: at most one training progress line per interval in the run log.
    """

    local_dir: str | None = None
    storage_options: dict[str, str] = Field(default_factory=dict)
    device: str = "auto"
    max_training_time: float | None = None
    max_epochs: float | None = None
    log_interval_seconds: float = DEFAULT_INTERVAL_SECONDS

    def __repr__(self) -> str:
        options = {k: "***" for k in self.storage_options}
        return (
            f"SynthResource(local_dir={self.local_dir!r}, storage_options={options}, "
            f"device={self.device!r}, max_training_time={self.max_training_time!r}, "
            f"max_epochs={self.max_epochs!r})"
        )

    __str__ = __repr__

    # ------------------------------------------------------------ client

    def get_client(self) -> SynthClient:
        """A quiet client on this resource's store (progress goes to the run log instead)."""
        return SynthClient(
            self.local_dir,
            quiet=True,
            storage_options=dict(self.storage_options) or None,
            device=self.resolved_device(),
        )

    def resolved_device(self) -> str:
        device = (self.device or "auto").lower()
        if device.split(":")[0] not in _DEVICES:
            raise dg.DagsterInvalidConfigError(
                f"SynthResource.device must be one of auto, cpu, cuda, cuda:N or mps; got {self.device!r}",
                [],
                self.device,
            )
        return device

    def _model_defaults(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.max_training_time is not None:
            out["max_training_time"] = self.max_training_time
        if self.max_epochs is not None:
            out["max_epochs"] = self.max_epochs
        return out

    # ------------------------------------------------------------ training

    def train(
        self,
        context: dg.AssetExecutionContext,
        declaration: SyntheticData,
        sources: Mapping[str, Any],
        config: TrainRunConfig | None = None,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        """Train the declaration's generator on its source tables.

        `sources` maps op input names (upstream assets) to their values; connector tables are read
        here. Yields the generator's and the model report's materializations and the check results.
        """
        keys = _keys_by_role(context)
        generator_key = keys["generator"][0][0]
        frames = _source_frames(context, declaration, sources)
        overrides = config.model_overrides() if config else {}
        random_state = config.random_state if config else None
        gen_config = declaration.generator_config(frames, self._model_defaults(), overrides, random_state)
        client = self.get_client()
        context.log.info(f"training on {client.resolved_device()} (device {client.device!r})")
        context.log.info(
            f"training generator {declaration.name!r} on "
            + ", ".join(f"{n} ({len(f)} rows, {f.shape[1]} columns)" for n, f in frames.items())
            + f" into {client.store.url}"
        )
        started = time.monotonic()
        generator = train_generator(
            client, gen_config, declaration.name, context.log.info, self.log_interval_seconds
        )
        context.log.info(
            f"generator {generator.id} trained in {time.monotonic() - started:.0f}s; "
            f"accuracy {'n/a' if generator.accuracy is None else f'{generator.accuracy:.3f}'}"
        )
        metrics = _metrics_by_table(generator)
        epsilons = {t.name: t.summary.get("epsilon") for t in generator.tables}
        check_results = evaluate_checks(declaration.checks, generator_key, metrics, epsilons)
        blocking_failed = [
            r
            for r in check_results
            if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR and _is_blocking(context, r)
        ]
        blocking_ok = not blocking_failed
        yield dg.MaterializeResult(
            asset_key=generator_key,
            metadata=md.generator_metadata(client, generator, blocking_ok),
        )
        for key, _ in keys.get("model_report", []):
            reports = {t["name"]: t["report"] for t in md.table_figures(generator)}
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    **md.report_metadata(client, reports, "model report"),
                    md.GENERATOR_ID: dg.MetadataValue.text(generator.id),
                },
            )
        yield from check_results
        if blocking_failed:  # Dagster's own message names the checks only; this one gives the figures
            message = failure_message(declaration.name, blocking_failed)
            context.log.error(message)
            raise dg.Failure(
                description=message, metadata={md.GENERATOR_ID: dg.MetadataValue.text(generator.id)}
            )

    # ------------------------------------------------------------ generation

    def generate(
        self,
        context: dg.AssetExecutionContext,
        declaration: SyntheticData,
        config: GenerateRunConfig | None = None,
    ) -> Iterator[dg.MaterializeResult]:
        """Sample the synthetic dataset from the latest generator that passed its blocking checks."""
        keys = _keys_by_role(context)
        generator_key = _upstream_generator_key(context)
        generator_id = _current_generator_id(context, generator_key)
        cfg = declaration.synthetic_config(
            size=config.size_override(declaration.table_names[0]) if config else None,
            seed=config.seed_override() if config else None,
            random_state=config.random_state if config else None,
            sampling=config.sampling_override() if config else None,
        )
        client = self.get_client()
        sizes = {t.name: t.configuration.sample_size for t in cfg.tables or []}
        context.log.info(
            f"generating synthetic {declaration.name!r} from generator {generator_id} "
            f"(sizes {sizes}, random_state {cfg.random_state})"
        )
        try:
            dataset = client.generate(
                generator_id, config=cfg, name=f"{declaration.name}-synthetic", progress_bar=False
            )
        except Exception as exc:
            raise dg.Failure(
                description=f"Generating synthetic {declaration.name!r} failed: {type(exc).__name__}: {exc}",
                metadata={md.GENERATOR_ID: dg.MetadataValue.text(generator_id)},
            ) from exc
        frames: dict[str, pd.DataFrame] = dataset.data(return_type="dict")  # type: ignore[assignment]
        views = {t.name: t for t in dataset.tables}
        destination = declaration.destination
        connector = _resource(context, destination.connector) if destination else None
        for key, table in keys["synthetic_table"]:
            frame = frames[table]
            metrics = views[table].tabular_model_metrics if table in views else None
            location = None
            if destination is not None and connector is not None:
                location = destination.location_of(table, declaration.name)
                written = connector.write_data(frame, location, if_exists=destination.if_exists)
                context.log.info(f"wrote {written} synthetic rows of {table} to {location}")
            meta = md.synthetic_table_metadata(frame, dataset.id, generator_id, metrics, location)
            if destination is not None:
                yield dg.MaterializeResult(asset_key=key, metadata=meta)
            else:
                yield dg.MaterializeResult(asset_key=key, metadata=meta, value=frame)
        for key, _ in keys.get("data_report", []):
            reports = {name: view.report for name, view in views.items()}
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    **md.report_metadata(client, reports, "data report"),
                    "synthetic_dataset_id": dg.MetadataValue.text(dataset.id),
                },
            )


# ---------------------------------------------------------------- helpers


def _keys_by_role(context: dg.AssetExecutionContext) -> dict[str, list[tuple[dg.AssetKey, str | None]]]:
    """The assets of the running multi-asset by role, from the metadata the factories stamped."""
    out: dict[str, list[tuple[dg.AssetKey, str | None]]] = {}
    for spec in context.assets_def.specs:
        role = spec.metadata.get(ROLE_KEY)
        if role is not None:
            out.setdefault(str(role), []).append((spec.key, spec.metadata.get(TABLE_KEY)))
    return out


def _resource(context: dg.AssetExecutionContext, key: str) -> Any:
    if not hasattr(context.resources, key):
        raise dg.Failure(
            description=(
                f"this step needs the resource {key!r} (a ConnectorResource): add `{key}: ConnectorResource` "
                "to the decorated function's parameters, or pass required_resource_keys"
            )
        )
    return getattr(context.resources, key)


def _is_blocking(context: dg.AssetExecutionContext, result: dg.AssetCheckResult) -> bool:
    for spec in context.assets_def.check_specs:
        if spec.name == result.check_name:
            return spec.blocking
    return False


def _upstream_generator_key(context: dg.AssetExecutionContext) -> dg.AssetKey:
    for spec in context.assets_def.specs:
        if spec.metadata.get(ROLE_KEY) == "synthetic_table":
            for dep in spec.deps:
                return dep.asset_key
    raise dg.DagsterInvariantViolationError("synthetic tables must depend on their generator asset")


def _source_frames(
    context: dg.AssetExecutionContext, declaration: SyntheticData, sources: Mapping[str, Any]
) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    for table in declaration.tables:
        if table.asset is not None:
            value = sources.get(declaration.input_name(table))
            if isinstance(value, Mapping) and table.name in value:
                value = value[table.name]  # a multi-table upstream asset (dict of frames)
            if not isinstance(value, pd.DataFrame):
                raise dg.Failure(
                    description=(
                        f"source table {table.name!r}: upstream asset {table.asset_key.to_user_string()} "  # type: ignore[union-attr]
                        f"gave {type(value).__name__}, expected a pandas DataFrame; check its IO manager"
                    )
                )
            frame = value if table.limit is None else value.head(table.limit)
        else:
            resource = _resource(context, str(table.connector))
            # read_training_data: allowed for READ_PROTECTED connectors too; rows are never shown
            frame = resource.read_training_data(str(table.location), limit=table.limit)
            context.log.info(f"read {len(frame)} rows of {table.name} from {table.location}")
        frames[table.name] = frame
    return frames


def _metrics_by_table(generator: Generator) -> dict[str, ModelMetrics | None]:
    return {t.name: t.tabular_model_metrics for t in generator.tables}


def _current_generator_id(context: dg.AssetExecutionContext, generator_key: dg.AssetKey) -> str:
    """The newest generator materialization that passed its blocking checks.

    A generator whose blocking check failed stays in the store (its report explains why) but is not
    used: the previous good generator is, as a failed job leaves the previous artifact in place.
    """
    records = context.instance.fetch_materializations(generator_key, limit=_GENERATOR_HISTORY).records
    skipped = 0
    for record in records:
        materialization = record.asset_materialization
        meta = materialization.metadata if materialization else {}
        if md.GENERATOR_ID not in meta:
            continue
        passed = meta.get(md.CHECKS_PASSED)
        if passed is not None and passed.value is False:
            skipped += 1
            continue
        if skipped:
            context.log.warning(
                f"the latest {skipped} materialization(s) of {generator_key.to_user_string()} failed "
                "blocking quality checks; using the previous generator"
            )
        return str(meta[md.GENERATOR_ID].value)
    raise dg.Failure(
        description=(
            f"no usable generator: materialize {generator_key.to_user_string()} first"
            + (f" ({skipped} materialization(s) failed blocking quality checks)" if skipped else "")
        )
    )
