"""Mock data as Dagster assets: a mock specification becomes one multi-asset with one output per
table, stored by an IO manager (the package's ParquetIOManager or ConnectorIOManager, or any other).

    from synth_dagster.integration import MockData, build_mock_data_assets

    shop = build_mock_data_assets(
        MockData(name="shop", tables=spec, sample_size=20, model="openai/gpt-5-nano",
                 api_key_env="OPENAI_API_KEY")
    )
    defs = dg.Definitions(assets=[shop], resources={"io_manager": ParquetIOManager(base_path="data")})

A mock table is an ordinary upstream asset: `SourceTable("orders", asset=...)` trains a generator
on it, so a pipeline runs end to end with no real data. The API key is read from the environment
variable `api_key_env` at run time, never stored in the definitions or the metadata.
"""

# No `from __future__ import annotations`: Dagster reads the body's type hints at definition time.

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from pydantic import Field

from synth_dagster.integration.connectors import table_metadata
from synth_dagster.mock import MockResult, MockSpec, generate, parse_spec
from synth_dagster.mock.generate import DEFAULT_MODEL

__all__ = ["MockData", "MockRunConfig", "build_mock_data_assets"]

LOG_EVERY_S = 5.0


@dataclass(frozen=True)
class MockData:
    """A mock dataset: the spec (the reference's `tables` dict), how many rows, and the model."""

    name: str
    tables: Mapping[str, Any] | MockSpec
    sample_size: int | Mapping[str, int] = 4
    model: str = DEFAULT_MODEL
    api_key_env: str | None = None
    api_base: str | None = None
    temperature: float = 1.0
    top_p: float = 0.95
    n_workers: int = 10
    random_state: int | None = None
    io_manager_key: str = "io_manager"
    key_prefix: Sequence[str] = ()
    group_name: str | None = None
    spec: MockSpec = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", parse_spec(self.tables))  # a bad spec fails at definition time

    def asset_key(self, table: str) -> dg.AssetKey:
        return dg.AssetKey([*self.key_prefix, table])


class MockRunConfig(dg.Config):
    """Overrides for one mock run."""

    sample_size: int | None = Field(default=None, description="Rows of every subject table.")
    random_state: int | None = Field(default=None, description="Seed for reproducible batches.")


def _specs(declaration: MockData) -> list[dg.AssetSpec]:
    out = []
    for name, table in declaration.spec.tables.items():
        parents = {fk.referenced_table for fk in table.foreign_keys if fk.referenced_table != name}
        out.append(
            dg.AssetSpec(
                key=declaration.asset_key(name),
                deps=[declaration.asset_key(p) for p in sorted(parents)],
                description=table.prompt or f"Mock table {name}",
                group_name=declaration.group_name,
                kinds={"pandas"},
                metadata={"synth_dagster/role": "mock_table", "synth_dagster/table": name},
            ).with_io_manager_key(declaration.io_manager_key)
        )
    return out


def _progress(context: dg.AssetExecutionContext) -> Any:
    last = {"t": 0.0}

    def log(**kw: Any) -> None:
        now = time.monotonic()
        if kw["progress"] == kw["total"] or now - last["t"] >= LOG_EVERY_S:
            last["t"] = now
            context.log.info(f"mock {kw['table']}: {kw['progress']}/{kw['total']} batches, {kw['rows']} rows")

    return log


def run_mock(declaration: MockData, config: MockRunConfig, context: dg.AssetExecutionContext) -> MockResult:
    """Generate the declaration's tables (used by the asset body)."""
    api_key = os.environ.get(declaration.api_key_env) if declaration.api_key_env else None
    return generate(
        tables=declaration.spec,
        sample_size=config.sample_size or declaration.sample_size,
        model=declaration.model,
        api_key=api_key,
        api_base=declaration.api_base,
        temperature=declaration.temperature,
        top_p=declaration.top_p,
        n_workers=declaration.n_workers,
        random_state=config.random_state if config.random_state is not None else declaration.random_state,
        progress_callback=_progress(context),
        progress_bar=False,
    )


def _metadata(declaration: MockData, result: MockResult, table: str) -> dict[str, Any]:
    rows = result.rows
    first = rows.first_try / rows.rows if rows.rows else 1.0
    return {
        **table_metadata(result.frames[table]),
        "model": dg.MetadataValue.text(result.model),
        "llm_calls": dg.MetadataValue.int(result.calls),
        "retries": dg.MetadataValue.int(result.retries + result.transport_retries),
        "valid_on_first_try": dg.MetadataValue.float(round(first, 4)),
    }


def build_mock_data_assets(declaration: MockData) -> dg.AssetsDefinition:
    """One multi-asset for the declaration: an output per table, parents before children."""

    @dg.multi_asset(
        name=f"{declaration.name}_mock",
        specs=_specs(declaration),
        description=f"Mock data {declaration.name} from its specification, by {declaration.model}.",
    )
    def _mock(context: dg.AssetExecutionContext, config: MockRunConfig):
        result = run_mock(declaration, config, context)
        for table in declaration.spec.tables:
            yield dg.Output(
                result.frames[table],
                output_name=declaration.asset_key(table).to_python_identifier(),
                metadata=_metadata(declaration, result, table),
            )

    return _mock
