"""What users declare: source tables, generator settings, sampling, quality checks and the output.

A `SyntheticData` declaration is plain data. It is validated when the code location loads (a typo
in a model setting fails `dagster dev`, not a run hours later) and turned into the domain's
GeneratorConfig / SyntheticDatasetConfig when a run starts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dagster as dg
import pandas as pd

from synth_dagster.domain import GeneratorConfig, SyntheticDatasetConfig
from synth_dagster.domain.errors import ConfigError
from synth_dagster.qa.gates import DEFAULT_IMS_TOLERANCE, DEFAULT_MAX_ACCURACY_GAP, DEFAULT_MAX_DCR_SHARE

__all__ = [
    "ConnectorDestination",
    "QualityChecks",
    "SourceTable",
    "SyntheticData",
]

SeedRecords = Sequence[Mapping[str, Any]]
Severity = Literal["ERROR", "WARN"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SourceTable:
    """One table the generator learns from.

    Give either `asset` (an upstream asset, loaded through its IO manager) or `connector` (the
    resource key of a `ConnectorResource`) plus `location` (e.g. `"public.orders"` or
    `"bucket/orders.parquet"`). `config` takes the remaining SourceTableConfig fields of the
    reference: `primary_key`, `foreign_keys`, `columns`, `tabular_model_configuration`, ...
    """

    name: str
    asset: dg.AssetKey | str | Sequence[str] | None = None
    connector: str | None = None
    location: str | None = None
    limit: int | None = None
    input_manager_key: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ConfigError("SourceTable: name must be a non-empty string, e.g. SourceTable('orders', ...)")
        from_asset = self.asset is not None
        from_connector = self.connector is not None or self.location is not None
        if from_asset == from_connector:
            raise ConfigError(
                f"SourceTable {self.name!r}: give either asset=<upstream asset key> or "
                "connector=<ConnectorResource key> with location=<table or file>, not both or neither"
            )
        if from_connector and not (self.connector and self.location):
            raise ConfigError(
                f"SourceTable {self.name!r}: a connector source needs both connector (the resource key) "
                "and location (e.g. 'public.orders')"
            )
        if self.limit is not None and self.limit <= 0:
            raise ConfigError(f"SourceTable {self.name!r}: limit must be a positive number of rows")
        reserved = {"name", "data", "location", "source_connector_id"} & set(self.config)
        if reserved:
            raise ConfigError(
                f"SourceTable {self.name!r}: config must not set {sorted(reserved)}; use the SourceTable "
                "arguments instead"
            )

    @property
    def asset_key(self) -> dg.AssetKey | None:
        return None if self.asset is None else dg.AssetKey.from_coercible(self.asset)


@dataclass(frozen=True)
class QualityChecks:
    """Asset checks on a freshly trained generator (figures of its model report, synth_dagster.qa.gates).

    - `accuracy`: overall accuracy at most `max_accuracy_gap` below the holdout reference (a
      same-sized holdout scored the same way; 0.10 = 10 points), and at least `min_accuracy` when
      that absolute floor is set. The reference depends on the table, the gap does not.
    - `dcr_share`: share of synthetic rows closer to a training row than to a holdout row, judged
      with its 95% interval over the compared records: fails only when the whole interval lies above
      `max_dcr_share` (about 0.5 is what a private generator gives).
    - `identical_matches`: share of synthetic rows identical to a training row not above the holdout
      reference (training rows identical to a holdout row) plus `ims_tolerance`.
    - `max_epsilon` (off unless set): every table trained with differential privacy, and the ε it
      spent (value protection + DP-SGD, at the table's δ) is at most `max_epsilon`.

    `None` for a threshold (or `identical_matches=False`) leaves that check out. `severity` applies
    to every check unless `severities` names one; with `blocking=True` an ERROR failure fails the run
    (its message gives the figures and thresholds) and stops the synthetic dataset from being
    generated from this generator.
    """

    max_accuracy_gap: float | None = DEFAULT_MAX_ACCURACY_GAP
    max_dcr_share: float | None = DEFAULT_MAX_DCR_SHARE
    min_accuracy: float | None = None
    identical_matches: bool = True
    ims_tolerance: float = DEFAULT_IMS_TOLERANCE
    max_epsilon: float | None = None
    severity: Severity = "ERROR"
    severities: Mapping[str, Severity] = field(default_factory=dict)
    blocking: bool = True

    def __post_init__(self) -> None:
        for name, value in (
            ("min_accuracy", self.min_accuracy),
            ("max_dcr_share", self.max_dcr_share),
            ("max_accuracy_gap", self.max_accuracy_gap),
        ):
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"QualityChecks: {name} must lie in [0, 1], got {value}")
        if self.max_epsilon is not None and self.max_epsilon <= 0:
            raise ConfigError(f"QualityChecks: max_epsilon must be positive, got {self.max_epsilon}")
        if self.ims_tolerance < 0:
            raise ConfigError("QualityChecks: ims_tolerance must not be negative")
        for value in [self.severity, *self.severities.values()]:
            if value not in ("ERROR", "WARN"):
                raise ConfigError(f"QualityChecks: severity must be 'ERROR' or 'WARN', got {value!r}")

    def severity_of(self, check: str) -> dg.AssetCheckSeverity:
        return dg.AssetCheckSeverity(self.severities.get(check, self.severity))


@dataclass(frozen=True)
class ConnectorDestination:
    """Deliver synthetic tables to a connector (the reference's `delivery`).

    `connector` is the resource key of a `ConnectorResource` with access_type WRITE_DATA;
    `location` is formatted with `{table}` and `{name}` (the declaration's name), e.g.
    `"synthetic.{table}"` or `"bucket/synthetic/{table}.parquet"`.
    """

    connector: str
    location: str = "{table}"
    if_exists: Literal["replace", "append", "fail"] = "replace"

    def location_of(self, table: str, name: str) -> str:
        return self.location.format(table=table, name=name)


@dataclass(frozen=True)
class SyntheticData:
    """A generator over `tables`, the synthetic dataset sampled from it, and its reports and checks.

    Training: `model` (ModelConfiguration fields such as `max_training_time` in minutes or
    `max_epochs`) applies to every table unless the table's `config` sets its own
    `tabular_model_configuration`; `random_state` makes training and sampling reproducible.

    Sampling: `size` (rows of every subject table, i.e. without a context foreign key, or
    `{table: rows}`), `seed` (records that fix some
    columns, or `{table: records}`) and `sampling` (SyntheticTableConfiguration fields for every
    table: `sampling_temperature`, `sampling_top_p`, `rebalancing`, ...; `table_sampling` per
    table). Run config may override size, seed and random_state per run.

    Output: synthetic tables go through `io_manager_key` (default: the definitions' `io_manager`)
    so downstream assets can load them, or to `destination` (a connector) when set.
    """

    name: str
    tables: Sequence[SourceTable]
    description: str | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    random_state: int | None = None
    constraints: Sequence[Mapping[str, Any]] | None = None
    size: int | Mapping[str, int] | None = None
    seed: SeedRecords | Mapping[str, SeedRecords] | None = None
    sampling: Mapping[str, Any] = field(default_factory=dict)
    table_sampling: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    checks: QualityChecks | None = field(default_factory=QualityChecks)
    io_manager_key: str | None = None
    destination: ConnectorDestination | None = None
    resource_key: str = "synth"
    reports: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                f"SyntheticData: name {self.name!r} must be an identifier (letters, digits, _), "
                "e.g. 'orders'; it names the assets and ops"
            )
        if not self.tables:
            raise ConfigError(f"SyntheticData {self.name!r}: list at least one SourceTable")
        names = [t.name for t in self.tables]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"SyntheticData {self.name!r}: duplicate table names {duplicates}")
        if self.io_manager_key and self.destination:
            raise ConfigError(f"SyntheticData {self.name!r}: give io_manager_key or destination, not both")
        unknown = sorted(set(self.table_sampling) - set(names))
        if isinstance(self.size, Mapping):
            unknown += sorted(set(self.size) - set(names))
        if unknown:
            raise ConfigError(f"SyntheticData {self.name!r}: unknown tables {unknown}; tables are {names}")
        # fail at load time: the domain models say exactly what is wrong
        self.generator_config(frames=None)
        self.synthetic_config()

    # ------------------------------------------------------------ names

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    @property
    def subject_names(self) -> list[str]:
        """Tables without a context foreign key (lookup tables aside): the ones a size applies to."""
        return [
            t.name
            for t in self.tables
            if not any(fk.get("is_context") for fk in t.config.get("foreign_keys") or [])
            and not t.config.get("is_lookup")
        ]

    def input_name(self, table: SourceTable) -> str:
        """The op input that carries an upstream asset's value (an identifier)."""
        return "source_" + re.sub(r"\W", "_", table.name)

    def connector_keys(self) -> set[str]:
        keys = {t.connector for t in self.tables if t.connector}
        if self.destination:
            keys.add(self.destination.connector)
        return keys

    # ------------------------------------------------------------ configs

    def generator_config(
        self,
        frames: Mapping[str, pd.DataFrame] | None,
        model_defaults: Mapping[str, Any] | None = None,
        model_overrides: Mapping[str, Any] | None = None,
        random_state: int | None = None,
    ) -> GeneratorConfig:
        """The GeneratorConfig; model settings: resource defaults < declaration < run overrides."""
        tables = []
        for table in self.tables:
            entry: dict[str, Any] = {"name": table.name, **table.config}
            model = {
                **(model_defaults or {}),
                **self.model,
                **dict(entry.get("tabular_model_configuration") or {}),
                **(model_overrides or {}),
            }
            if model:
                entry["tabular_model_configuration"] = model
            if table.location:
                entry["location"] = table.location
            if frames is not None:
                entry["data"] = frames[table.name]
            tables.append(entry)
        return GeneratorConfig.model_validate(
            {
                "name": self.name,
                "description": self.description,
                "random_state": self.random_state if random_state is None else random_state,
                "tables": tables,
                "constraints": list(self.constraints) if self.constraints else None,
            }
        )

    def synthetic_config(
        self,
        size: int | Mapping[str, int] | None = None,
        seed: SeedRecords | Mapping[str, SeedRecords] | None = None,
        random_state: int | None = None,
        sampling: Mapping[str, Any] | None = None,
    ) -> SyntheticDatasetConfig:
        """The SyntheticDatasetConfig; arguments (from run config) win over the declaration."""
        # overrides replace the declaration's value table by table
        sizes = {**_per_table(self.size, self.subject_names), **_per_table(size, self.subject_names)}
        seeds = {
            **_per_table(self.seed, self.table_names, records=True),
            **_per_table(seed, self.table_names, records=True),
        }
        tables = []
        for name in self.table_names:
            configuration: dict[str, Any] = {
                **self.sampling,
                **self.table_sampling.get(name, {}),
                **(sampling or {}),
            }
            if name in sizes:
                configuration["sample_size"] = sizes[name]
            if name in seeds:
                configuration["sample_seed_dict"] = [dict(r) for r in seeds[name]]
            tables.append({"name": name, "configuration": configuration})
        return SyntheticDatasetConfig.model_validate(
            {
                "name": f"{self.name}-synthetic",
                "random_state": self.random_state if random_state is None else random_state,
                "tables": tables,
            }
        )


def _per_table(value: Any, tables: list[str], records: bool = False) -> dict[str, Any]:
    """Size or seed per table: a mapping by table name; else a size for every (subject) table,
    or a seed for the first table."""
    if value is None:
        return {}
    if isinstance(value, Mapping) and (not records or set(value) <= set(tables)):
        return dict(value)
    return {tables[0]: value} if records else dict.fromkeys(tables, value)
