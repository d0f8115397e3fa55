"""Synthetic dataset and probe configs from the client's shorthands (`size`, `seed`) and full configs."""

from __future__ import annotations

from typing import Any

from synth_dagster.domain import (
    ConfigError,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
    validate_synthetic_config,
)
from synth_dagster.domain.errors import parse
from synth_dagster.sdk.capabilities import refuse_unsupported_synthetic
from synth_dagster.sdk.errors import InvalidRequestError
from synth_dagster.sdk.frames import as_frame
from synth_dagster.sdk.records import Generator


def _as_dict(config: Any) -> dict[str, Any]:
    if isinstance(config, dict):
        return dict(config)
    if isinstance(config, SyntheticDatasetConfig | SyntheticProbeConfig):
        # keep seed frames, which model_dump leaves out
        data = config.model_dump(exclude_none=True)
        for i, table in enumerate(config.tables or []):
            if table.configuration.sample_seed_data is not None:
                data["tables"][i]["configuration"]["sample_seed_data"] = table.configuration.sample_seed_data
        return data
    raise InvalidRequestError(
        f"config must be a dict or a SyntheticDatasetConfig, got {type(config).__name__}"
    )


def column_map(generator: Generator) -> dict[str, Any]:
    """table -> {column: encoding} of a trained generator, for validating synthetic configs."""
    out: dict[str, Any] = {}
    for table in generator.tables:
        if not table.columns:
            out[table.name] = None
            continue
        out[table.name] = {c: table.encodings.get(c, "AUTO") for c in table.columns}
    return out


def build_config(
    generator: Generator, config: Any, size: Any, seed: Any, probe: bool
) -> SyntheticDatasetConfig | SyntheticProbeConfig:
    """Merge `size` / `seed` into `config` (they fill what the config leaves open) and validate it.

    `size`: an int for every subject table, or {table: int}. `seed`: a DataFrame (or records, or a
    CSV/Parquet path) for the first table, or {table: seed}.
    """
    model = SyntheticProbeConfig if probe else SyntheticDatasetConfig
    data = _as_dict(config) if config is not None else {}
    table_names = [t.name for t in generator.tables]
    if isinstance(size, bool) or (size is not None and not isinstance(size, int | dict)):
        raise InvalidRequestError(f"size must be a positive integer or a dict of them, got {size!r}")
    if isinstance(size, int) and size <= 0:
        raise InvalidRequestError(f"size must be a positive integer, got {size}")
    # an int sizes every subject table; tables under a context key follow their parents
    subjects = [
        t.name for t in generator.config().tables or [] if t.context_foreign_key is None and not t.is_lookup
    ]
    sizes = size if isinstance(size, dict) else dict.fromkeys(subjects, size) if size is not None else {}
    if isinstance(seed, dict) and seed and set(seed) <= set(table_names):
        seeds = seed  # {table: seed}
    else:
        seeds = {table_names[0]: seed} if seed is not None and table_names else {}
    unknown = sorted((set(sizes) | set(seeds)) - set(table_names))
    if unknown:
        raise InvalidRequestError(
            f"size/seed name tables {unknown} that the generator does not have: {table_names}"
        )
    tables = [dict(t) for t in data.get("tables") or []]
    by_name = {t.get("name"): t for t in tables}
    for name in table_names:
        if name not in sizes and name not in seeds:
            continue
        table = by_name.get(name)
        if table is None:
            table = {"name": name, "configuration": {}}
            tables.append(table)
        configuration = dict(table.get("configuration") or {})
        if name in sizes and configuration.get("sample_size") is None:
            configuration["sample_size"] = sizes[name]
        if name in seeds and configuration.get("sample_seed_data") is None:
            configuration["sample_seed_data"] = as_frame(seeds[name], f"seed for table {name!r}")
        table["configuration"] = configuration
    if tables:
        data["tables"] = tables
    if probe:
        if data.get("compute") is not None:
            raise ConfigError(
                "compute: compute resources are not selectable in this version; remove the field"
            )
        data = {k: v for k, v in data.items() if k in SyntheticProbeConfig.model_fields}
    cfg = parse(model, data, "synthetic dataset config" if not probe else "probe config")
    refuse_unsupported_synthetic(cfg)
    for table in cfg.tables or []:
        seed_frame = table.configuration.seed_frame()
        if seed_frame is not None and seed_frame.columns.duplicated().any():
            duplicated = sorted({str(c) for c in seed_frame.columns[seed_frame.columns.duplicated()]})
            raise ConfigError(
                f"table '{table.name}': the seed has several columns named {duplicated}; give each "
                "column once"
            )
    validate_synthetic_config(column_map(generator), cfg)
    return cfg
