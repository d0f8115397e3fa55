"""`SyntheticDataComponent`: a generator, its synthetic tables, checks, sensor and schedule in YAML.

A Dagster Component (the `dg` CLI's unit of configuration). Its attributes are the fields of a
`SyntheticData` declaration plus an optional sensor, schedule and `SynthResource`; `build_defs`
turns them into that declaration and calls the Python factories (`build_synthetic_data_assets`,
`build_source_sensor`, `build_regeneration_schedule`), so YAML and Python share one code path.

    # defs/flights/defs.yaml
    type: synth_dagster.SyntheticDataComponent
    attributes:
      name: flights
      tables:
        - {name: flights, asset: flights_raw}
      size: 1000
      sensor: {watch: {kind: assets_materialized}}
      schedule: {cron_schedule: "0 3 * * 1"}

See docs/dagster.md, "Components: YAML with `dg`", for every field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import Field, ValidationError, field_validator, model_validator

from synth_dagster.domain.errors import ConfigError, validation_problems
from synth_dagster.integration.assets import SynthAssets, build_synthetic_data_assets
from synth_dagster.integration.declaration import (
    ConnectorDestination,
    QualityChecks,
    SourceTable,
    SyntheticData,
)
from synth_dagster.integration.jobs import DEFAULT_INTERVAL_SECONDS
from synth_dagster.integration.resource import SynthResource
from synth_dagster.integration.schedules import build_regeneration_schedule
from synth_dagster.integration.sensors import (
    AssetsMaterialized,
    ConnectorMaxValue,
    ConnectorRowCount,
    FileModified,
    SourceWatch,
    build_source_sensor,
)
from synth_dagster.integration.translator import SynthTranslator
from synth_dagster.qa.gates import DEFAULT_IMS_TOLERANCE, DEFAULT_MAX_ACCURACY_GAP, DEFAULT_MAX_DCR_SHARE

__all__ = ["SyntheticDataComponent"]

Status = Literal["STOPPED", "RUNNING"]
# an asset key in YAML: "orders", "raw/orders" (slash-separated path) or ["raw", "orders"]
AssetKeyText = str | list[str]


def _asset_key(value: AssetKeyText) -> dg.AssetKey:
    return dg.AssetKey(value) if isinstance(value, list) else dg.AssetKey.from_user_string(value)


# ---------------------------------------------------------------- attribute models


class SourceTableModel(dg.Resolvable, dg.Model):
    """One source table: `asset` (an upstream asset) or `connector` + `location`."""

    name: str = Field(description="Table name inside the generator.")
    asset: AssetKeyText | None = Field(
        None, description='Upstream asset key: "orders", "raw/orders" or ["raw", "orders"].'
    )
    connector: str | None = Field(None, description="Resource key of a ConnectorResource.")
    location: str | None = Field(None, description='Table or file at the connector, e.g. "public.orders".')
    limit: int | None = Field(None, description="Read at most this many rows.")
    input_manager_key: str | None = Field(None, description="IO manager that loads the upstream asset.")
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="Other SourceTableConfig fields: primary_key, foreign_keys, columns, ...",
    )

    def to_source_table(self) -> SourceTable:
        asset = None if self.asset is None else _asset_key(self.asset)
        return SourceTable(
            name=self.name,
            asset=asset,
            connector=self.connector,
            location=self.location,
            limit=self.limit,
            input_manager_key=self.input_manager_key,
            config=dict(self.config),
        )


class QualityChecksModel(dg.Resolvable, dg.Model):
    """Asset checks on the generator; a null threshold leaves that check out."""

    max_accuracy_gap: float | None = DEFAULT_MAX_ACCURACY_GAP
    max_dcr_share: float | None = DEFAULT_MAX_DCR_SHARE
    min_accuracy: float | None = None
    identical_matches: bool = True
    ims_tolerance: float = DEFAULT_IMS_TOLERANCE
    max_epsilon: float | None = None
    severity: Literal["ERROR", "WARN"] = "ERROR"
    severities: dict[str, Literal["ERROR", "WARN"]] = Field(default_factory=dict)
    blocking: bool = True

    def to_checks(self) -> QualityChecks:
        return QualityChecks(**self.model_dump())


class DestinationModel(dg.Resolvable, dg.Model):
    """Deliver the synthetic tables to a connector instead of an IO manager."""

    connector: str = Field(description="Resource key of a ConnectorResource with WRITE_DATA access.")
    location: str = Field("{table}", description='Formatted with {table} and {name}: "synthetic.{table}".')
    if_exists: Literal["replace", "append", "fail"] = "replace"

    def to_destination(self) -> ConnectorDestination:
        return ConnectorDestination(self.connector, self.location, self.if_exists)


WatchKind = Literal["connector_row_count", "connector_max_value", "file_modified", "assets_materialized"]
# the fields each kind needs, and the ones it may take besides `kind`
_WATCH_FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "connector_row_count": ({"connector", "location"}, {"connector", "location", "sql"}),
    "connector_max_value": ({"connector", "location", "column"}, {"connector", "location", "column", "sql"}),
    "file_modified": ({"path"}, {"path"}),
    "assets_materialized": (set(), {"assets"}),
}


class WatchModel(dg.Resolvable, dg.Model):
    """What the sensor reads; `kind` says which fields apply (one flat model, so that templates
    resolve in every field and an error names the field that is missing or out of place)."""

    kind: WatchKind = Field(description=", ".join(_WATCH_FIELDS))
    connector: str | None = Field(None, description="ConnectorResource key (connector_* kinds).")
    location: str | None = Field(None, description="Table or file at the connector (connector_* kinds).")
    column: str | None = Field(None, description="Column whose maximum is watched (connector_max_value).")
    sql: str | None = Field(None, description="Statement returning one value (connector_* kinds).")
    path: str | None = Field(None, description="File or folder, local or fsspec URL (file_modified).")
    assets: list[AssetKeyText] | None = Field(
        None, description="Asset keys (assets_materialized; default: the tables' upstream assets)."
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> WatchModel:
        needed, allowed = _WATCH_FIELDS[self.kind]
        given = {name for name in _WATCH_FIELDS_ALL if getattr(self, name) is not None}
        if needed - given:
            raise ValueError(f"kind {self.kind} needs {sorted(needed - given)}")
        if given - allowed:
            raise ValueError(
                f"kind {self.kind} takes {sorted(allowed)}, not {sorted(given - allowed)}; "
                f"remove them or pick another kind ({', '.join(_WATCH_FIELDS)})"
            )
        return self

    def to_watch(self, declaration: SyntheticData) -> SourceWatch:
        if self.kind == "connector_row_count":
            return ConnectorRowCount(str(self.connector), str(self.location), self.sql)
        if self.kind == "connector_max_value":
            return ConnectorMaxValue(str(self.connector), str(self.location), str(self.column), self.sql)
        if self.kind == "file_modified":
            return FileModified(str(self.path))
        if self.assets is not None:
            return AssetsMaterialized([_asset_key(a) for a in self.assets])
        keys = [t.asset_key for t in declaration.tables if t.asset_key is not None]
        if not keys:
            raise ConfigError(
                "sensor.watch: kind assets_materialized needs `assets` when no table comes from an "
                "upstream asset; list the asset keys to watch, or watch a connector instead"
            )
        return AssetsMaterialized(keys)


_WATCH_FIELDS_ALL = ("connector", "location", "column", "sql", "path", "assets")


def _at_least_one(value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    return value


class SensorModel(dg.Resolvable, dg.Model):
    """A sensor that retrains (and regenerates) when `watch` sees new source data."""

    watch: WatchModel
    name: str | None = None
    minimum_interval_seconds: int = 60
    retrain_only: bool = False
    request_on_first_tick: bool = False
    default_status: Status = "STOPPED"

    _interval = field_validator("minimum_interval_seconds")(_at_least_one)

    def build(self, assets: SynthAssets) -> dg.SensorDefinition:
        return build_source_sensor(
            assets,
            self.watch.to_watch(assets.declaration),
            name=self.name,
            minimum_interval_seconds=self.minimum_interval_seconds,
            retrain_only=self.retrain_only,
            request_on_first_tick=self.request_on_first_tick,
            default_status=dg.DefaultSensorStatus[self.default_status],
        )


class ScheduleModel(dg.Resolvable, dg.Model):
    """A schedule that regenerates (with `retrain: true`, also retrains) the synthetic dataset."""

    cron_schedule: str = "0 3 * * 1"
    name: str | None = None
    retrain: bool = False
    size: int | None = None
    fresh_random_state: bool = True
    execution_timezone: str = "UTC"
    default_status: Status = "STOPPED"

    _size = field_validator("size")(_at_least_one)

    def build(self, assets: SynthAssets) -> dg.ScheduleDefinition:
        try:
            return build_regeneration_schedule(
                assets,
                self.cron_schedule,
                name=self.name,
                retrain=self.retrain,
                size=self.size,
                fresh_random_state=self.fresh_random_state,
                execution_timezone=self.execution_timezone,
                default_status=dg.DefaultScheduleStatus[self.default_status],
            )
        except dg.DagsterInvalidDefinitionError as error:
            # Dagster names the schedule, not the YAML fields (cron_schedule, execution_timezone)
            raise ConfigError(
                f"schedule: {error}; cron_schedule takes five cron fields (e.g. '0 3 * * 1') and "
                "execution_timezone an IANA name (e.g. 'Europe/Vienna')"
            ) from error


class ResourceModel(dg.Resolvable, dg.Model):
    """A SynthResource defined by this component (storage credentials belong in Python, as EnvVar)."""

    local_dir: str | None = Field(None, description="Store folder or fsspec URL; default ~/.synth_dagster.")
    device: str = "auto"
    max_training_time: float | None = Field(None, description="Minutes; default for every generator.")
    max_epochs: float | None = None
    log_interval_seconds: float = DEFAULT_INTERVAL_SECONDS

    def build(self) -> SynthResource:
        return SynthResource(**self.model_dump())


# ---------------------------------------------------------------- scaffolding


class ScaffoldParams(dg.Model):
    """`dg scaffold defs synth_dagster.SyntheticDataComponent PATH [--name N] [--asset KEY]`."""

    name: str | None = Field(None, description="Declaration name (default: the folder's name).")
    asset: str | None = Field(None, description="Upstream asset to learn from (default: <name>_source).")


# Written as text, not yaml.dump, so that the optional blocks can be shown commented out.
_TEMPLATE = """\
type: {type_name}

attributes:
  name: {name}
  tables:
    # an upstream asset, or `connector: <ConnectorResource key>` with `location: public.{name}`
    - name: {name}
      asset: {asset}
  size: 1000  # synthetic rows
  model_configuration:
    max_training_time: 10  # minutes
  checks:
    max_accuracy_gap: 0.1  # at most 10 points below the holdout reference
    max_dcr_share: 0.6  # fails when the 95% interval lies wholly above
  # io_manager_key: io_manager  # or destination: {{connector: dev, location: "synthetic.{{table}}"}}
  # sensor:
  #   watch: {{kind: assets_materialized}}
  # schedule:
  #   cron_schedule: "0 3 * * 1"
  # resource:  # or define the `synth` SynthResource in Python
  #   local_dir: /data/synth_store
"""


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text).strip("_") or "synthetic"
    return f"_{name}" if name[0].isdigit() else name


class SyntheticDataScaffolder(dg.Scaffolder[ScaffoldParams]):
    """Writes a filled-in defs.yaml (or component.py) for one synthetic dataset."""

    @classmethod
    def get_scaffold_params(cls) -> type[ScaffoldParams]:
        return ScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[ScaffoldParams]) -> None:
        params = request.params or ScaffoldParams()
        name = params.name or _identifier(request.target_path.stem)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"--name {name!r} must be an identifier (letters, digits, _), e.g. orders")
        asset = params.asset or f"{name}_source"
        if request.scaffold_format == "python":
            dg.scaffold_component(request, {"name": name, "tables": [{"name": name, "asset": asset}]})
            return
        text = _TEMPLATE.format(type_name=request.type_name, name=name, asset=asset)
        if request.append:
            with open(request.target_path, "a", encoding="utf-8") as handle:
                handle.write("---\n" + text)
        else:
            (request.target_path / "defs.yaml").write_text(text, encoding="utf-8")


# ---------------------------------------------------------------- the component


@dg.scaffold_with(SyntheticDataScaffolder)
class SyntheticDataComponent(dg.Component, dg.Resolvable, dg.Model):
    """A generator over source tables, its synthetic tables, reports, quality checks, and optionally
    a retraining sensor, a regeneration schedule and the SynthResource, declared in YAML.

    The attributes are those of `SyntheticData` (`model_configuration` is its `model`) plus
    `sensor`, `schedule` and `resource`. Definitions are built by `build_synthetic_data_assets`.
    """

    name: str = Field(description="Identifier; names the assets (<name>_generator, ...) and ops.")
    tables: list[SourceTableModel] = Field(description="Source tables the generator learns from.")
    description: str | None = None
    model_configuration: dict[str, Any] = Field(
        default_factory=dict,
        description="ModelConfiguration fields for every table: max_training_time (minutes), max_epochs, ...",
    )
    random_state: int | None = None
    constraints: list[dict[str, Any]] | None = None
    size: int | dict[str, int] | None = Field(
        None, description="Rows of every subject table, or {table: rows}."
    )
    seed: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    table_sampling: dict[str, dict[str, Any]] = Field(default_factory=dict)
    checks: QualityChecksModel | None = Field(default_factory=QualityChecksModel)
    io_manager_key: str | None = None
    destination: DestinationModel | None = None
    resource_key: str = "synth"
    reports: bool = True
    sensor: SensorModel | None = None
    schedule: ScheduleModel | None = None
    resource: ResourceModel | None = None

    @classmethod
    def get_spec(cls) -> dg.ComponentTypeSpec:
        return dg.ComponentTypeSpec(
            description="Privacy-safe synthetic data: a generator, synthetic tables, reports and checks.",
            tags=["synthetic-data"],
            produces=["asset", "asset_check", "sensor", "schedule", "resource"],
        )

    def declaration(self) -> SyntheticData:
        """The `SyntheticData` these attributes declare (validated by its own rules)."""
        return SyntheticData(
            name=self.name,
            tables=[t.to_source_table() for t in self.tables],
            description=self.description,
            model=dict(self.model_configuration),
            random_state=self.random_state,
            constraints=self.constraints,
            size=self.size,
            seed=self.seed,
            sampling=dict(self.sampling),
            table_sampling=dict(self.table_sampling),
            checks=self.checks.to_checks() if self.checks else None,
            io_manager_key=self.io_manager_key,
            destination=self.destination.to_destination() if self.destination else None,
            resource_key=self.resource_key,
            reports=self.reports,
        )

    def get_translator(self) -> SynthTranslator | None:
        """Override in a subclass to change keys, groups or automation; None: the default one."""
        return None

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        try:
            return self._definitions()
        except ConfigError as error:
            problems = error.problems
        except ValidationError as error:  # the domain's configs (GeneratorConfig, ...) name the field
            problems = [f"{error.title}: {line}" for line in validation_problems(error)]
        # say which defs.yaml is wrong: a project may hold many of these components
        raise ConfigError([f"{_where(context)}: {problem}" for problem in problems]) from None

    def _definitions(self) -> dg.Definitions:
        assets = build_synthetic_data_assets(self.declaration(), self.get_translator())
        resources = {self.resource_key: self.resource.build()} if self.resource else {}
        return dg.Definitions(
            assets=list(assets),
            sensors=[self.sensor.build(assets)] if self.sensor else [],
            schedules=[self.schedule.build(assets)] if self.schedule else [],
            resources=resources,
        )


def _where(context: dg.ComponentLoadContext) -> str:
    path: Path = context.path
    try:
        path = path.relative_to(context.project_root)
    except ValueError:
        pass
    return f"SyntheticDataComponent at {path}"
