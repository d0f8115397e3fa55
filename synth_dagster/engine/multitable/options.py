"""Engine options of a table, built once from the domain configuration and never changed after.

`base_options` maps a table's ModelConfiguration and columns to FlatOptions; `table_options` adds
what the table's place among the others decides (keys into lookup tables are categories, a parent's
columns copied into a child are encoded as the parent's model encodes them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from synth_dagster.domain import GeneratorConfig, ModelConfiguration, SourceTableConfig
from synth_dagster.engine.device import check_device_name
from synth_dagster.engine.flat import FlatOptions
from synth_dagster.engine.multitable.frames import LOOKUP_KEY_PREFIX, lookup_tables, protects_values
from synth_dagster.engine.privacy.settings import DPSettings


def base_options(
    table: SourceTableConfig,
    random_state: int | None,
    constraints: list[dict[str, Any]],
    device: str | None = None,
) -> FlatOptions:
    """A table's own model settings and column encodings; `compute` (a device name) wins over `device`."""
    mc = table.tabular_model_configuration or ModelConfiguration()
    encodings = {
        c.name: str(
            c.model_encoding_type.value if hasattr(c.model_encoding_type, "value") else c.model_encoding_type
        )
        for c in (table.columns or [])
    }
    # language columns are learned by the language model (multitable/language_family.py)
    encodings = {c: e for c, e in encodings.items() if not e.startswith("LANGUAGE")}
    return FlatOptions(
        model_size=mc.model_size or "medium",
        max_sample_size=mc.max_sample_size,
        batch_size=mc.batch_size,
        gradient_accumulation_steps=mc.gradient_accumulation_steps,
        max_epochs=mc.max_epochs if mc.max_epochs is not None else 100.0,
        max_training_time=mc.max_training_time,
        enable_flexible_generation=mc.enable_flexible_generation is not False,
        value_protection=protects_values(table),
        rare_category_replacement_method=str(
            getattr(mc.rare_category_replacement_method, "value", mc.rare_category_replacement_method)
            or "AUTO"
        ),
        random_state=random_state,
        encoding_types={c: e for c, e in encodings.items() if e != "AUTO"},
        constraints=constraints,
        differential_privacy=DPSettings.from_config(mc.differential_privacy),
        device=check_device_name(mc.compute or device),
    )


def table_constraints(config: GeneratorConfig, table: str) -> list[dict[str, Any]]:
    """The constraints of one table, as the engine's transforms read them."""
    return [
        {"type": str(getattr(c.type, "value", c.type)), "config": c.config.model_dump()}
        for c in config.constraints or []
        if c.table_name == table
    ]


def table_options(
    config: GeneratorConfig,
    table: SourceTableConfig,
    parent_links: Mapping[str, dict[str, str]],
    device: str | None = None,
) -> FlatOptions:
    """The options a table is trained with, complete: encodings of lookup keys and parent columns."""
    options = base_options(table, config.random_state, table_constraints(config, table.name), device)
    encodings = dict(options.encoding_types)
    lookups = lookup_tables(config)
    for fk in table.foreign_keys or []:
        if not fk.is_context and fk.referenced_table in lookups:
            encodings[LOOKUP_KEY_PREFIX + fk.column] = "TABULAR_CATEGORICAL"
    for key, columns in parent_links.items():
        # a parent column is encoded as the parent's own model encodes it
        fk = next(f for f in table.foreign_keys or [] if f.column == key)
        parent_encodings = base_options(config.get_table(fk.referenced_table), None, []).encoding_types
        for child_column, column in columns.items():
            if column in parent_encodings:
                encodings[child_column] = parent_encodings[column]
    return replace(options, encoding_types=encodings)
