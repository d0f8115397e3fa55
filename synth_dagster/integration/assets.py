"""Asset factories: a declaration becomes a training multi-asset and a generation multi-asset.

Like `@sling_assets` / `@dlt_assets`, the decorators build the specs (through a translator) and
leave the body to you; `build_synthetic_data_assets` supplies the usual body:

    flights = SyntheticData(name="flights", tables=[SourceTable("flights", asset="flights_raw")])

    @synth_generator_assets(declaration=flights)
    def flights_generator(context, synth: SynthResource, config: TrainRunConfig, **sources):
        yield from synth.train(context, flights, sources, config)

    @synthetic_dataset_assets(declaration=flights)
    def flights_synthetic(context, synth: SynthResource, config: GenerateRunConfig):
        yield from synth.generate(context, flights, config)

    # or, equivalently:
    defs = dg.Definitions(assets=[*build_synthetic_data_assets(flights)], resources={"synth": SynthResource()})

Training: the generator asset (plus the model report asset) depends on the source assets and carries
the quality checks. Generation: one asset per synthetic table (plus the data report asset) depending
on the generator.
"""

# No `from __future__ import annotations` here: Dagster reads the decorated functions' type
# hints (context, config, resources) at definition time and needs real types, not strings.

from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import dagster as dg

from synth_dagster.integration.checks import check_specs
from synth_dagster.integration.declaration import SyntheticData
from synth_dagster.integration.runconfig import GenerateRunConfig, TrainRunConfig
from synth_dagster.integration.translator import ROLE_KEY, TABLE_KEY, SynthAssetProps, SynthTranslator

__all__ = [
    "SynthAssets",
    "build_synthetic_data_assets",
    "synth_generator_assets",
    "synthetic_dataset_assets",
]


@dataclass(frozen=True)
class _Keys:
    generator: dg.AssetKey
    model_report: dg.AssetKey | None
    tables: dict[str, dg.AssetKey]
    data_report: dg.AssetKey | None


def _spec(translator: SynthTranslator, props: SynthAssetProps) -> dg.AssetSpec:
    spec = translator.get_asset_spec(props)
    meta: dict[str, Any] = {ROLE_KEY: props.role}
    if props.table is not None:
        meta[TABLE_KEY] = props.table
    return spec.merge_attributes(metadata=meta)


def _specs(declaration: SyntheticData, translator: SynthTranslator) -> dict[str, Any]:
    generator = _spec(translator, SynthAssetProps("generator", declaration))
    model_report = (
        _spec(translator, SynthAssetProps("model_report", declaration)) if declaration.reports else None
    )
    tables = {
        t: _spec(translator, SynthAssetProps("synthetic_table", declaration, t))
        for t in declaration.table_names
    }
    data_report = (
        _spec(translator, SynthAssetProps("data_report", declaration)) if declaration.reports else None
    )
    return {
        "generator": generator,
        "model_report": model_report,
        "tables": tables,
        "data_report": data_report,
    }


def _op_name(declaration: SyntheticData, step: str) -> str:
    return f"{declaration.name}_{step}"


def synth_generator_assets(
    *,
    declaration: SyntheticData,
    translator: SynthTranslator | None = None,
    name: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
    pool: str | None = None,
    retry_policy: dg.RetryPolicy | None = None,
    required_resource_keys: AbstractSet[str] | None = None,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """A multi-asset that trains the declaration's generator: the generator asset, its model report
    asset and the quality checks. Upstream source assets arrive as keyword inputs named
    `SyntheticData.input_name(table)`; take them with `**sources`. Connector sources need their
    `ConnectorResource`s: take them as parameters too, or list them in `required_resource_keys`."""
    translator = translator or SynthTranslator()
    specs = _specs(declaration, translator)
    source_keys = [t.asset_key for t in declaration.tables if t.asset_key is not None]
    generator = specs["generator"].replace_attributes(deps=source_keys)
    out = [generator]
    if specs["model_report"] is not None:
        out.append(specs["model_report"].replace_attributes(deps=[generator.key]))
    ins = {
        declaration.input_name(t): dg.AssetIn(key=t.asset_key, input_manager_key=t.input_manager_key)
        for t in declaration.tables
        if t.asset_key is not None
    }
    return dg.multi_asset(
        name=name or _op_name(declaration, "train"),
        specs=out,
        ins=ins,
        check_specs=check_specs(declaration.checks, generator.key),
        # None when empty: Dagster refuses keys here *and* resource parameters on the function
        required_resource_keys=set(required_resource_keys) if required_resource_keys else None,
        op_tags=op_tags,
        pool=pool,
        retry_policy=retry_policy,
        description=f"Train the {declaration.name} generator.",
    )


def synthetic_dataset_assets(
    *,
    declaration: SyntheticData,
    translator: SynthTranslator | None = None,
    name: str | None = None,
    op_tags: Mapping[str, Any] | None = None,
    pool: str | None = None,
    retry_policy: dg.RetryPolicy | None = None,
    required_resource_keys: AbstractSet[str] | None = None,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """A multi-asset that samples the synthetic dataset: one asset per synthetic table (stored by
    `io_manager_key`, or delivered to `destination`) and the data report asset. A destination needs
    its `ConnectorResource`: take it as a parameter, or list it in `required_resource_keys`."""
    translator = translator or SynthTranslator()
    specs = _specs(declaration, translator)
    generator_key = specs["generator"].key
    out = []
    for spec in specs["tables"].values():
        spec = spec.replace_attributes(deps=[generator_key])
        if declaration.destination is None:
            # a value output: the IO manager stores it and downstream assets load it
            spec = spec.with_io_manager_key(declaration.io_manager_key or "io_manager")
        out.append(spec)
    if specs["data_report"] is not None:
        out.append(specs["data_report"].replace_attributes(deps=[s.key for s in out]))
    return dg.multi_asset(
        name=name or _op_name(declaration, "generate"),
        specs=out,
        required_resource_keys=set(required_resource_keys) if required_resource_keys else None,
        op_tags=op_tags,
        pool=pool,
        retry_policy=retry_policy,
        description=f"Generate the synthetic {declaration.name} dataset.",
    )


class SynthAssets(Sequence[dg.AssetsDefinition]):
    """The definitions of one declaration: `[training, generation]`, plus their keys and op names.

    A sequence, so `Definitions(assets=[source, *synth_assets])` takes it as it is.
    """

    def __init__(
        self,
        declaration: SyntheticData,
        training: dg.AssetsDefinition,
        generation: dg.AssetsDefinition,
        keys: _Keys,
    ) -> None:
        self.declaration = declaration
        self.training = training
        self.generation = generation
        self._keys = keys

    def __getitem__(self, index):  # type: ignore[override]
        return [self.training, self.generation][index]

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Iterator[dg.AssetsDefinition]:
        return iter([self.training, self.generation])

    @property
    def generator_key(self) -> dg.AssetKey:
        return self._keys.generator

    @property
    def model_report_key(self) -> dg.AssetKey | None:
        return self._keys.model_report

    @property
    def synthetic_keys(self) -> dict[str, dg.AssetKey]:
        """Synthetic table name -> asset key."""
        return dict(self._keys.tables)

    @property
    def data_report_key(self) -> dg.AssetKey | None:
        return self._keys.data_report

    @property
    def training_keys(self) -> list[dg.AssetKey]:
        return list(self.training.keys)

    @property
    def generation_keys(self) -> list[dg.AssetKey]:
        return list(self.generation.keys)

    @property
    def all_keys(self) -> list[dg.AssetKey]:
        return [*self.training_keys, *self.generation_keys]

    @property
    def training_op_name(self) -> str:
        return self.training.node_def.name

    @property
    def generation_op_name(self) -> str:
        return self.generation.node_def.name

    def selection(self, retrain: bool = True) -> dg.AssetSelection:
        """All assets (retrain and regenerate), or only the generation assets."""
        return dg.AssetSelection.assets(*(self.all_keys if retrain else self.generation_keys))


def build_synthetic_data_assets(
    declaration: SyntheticData, translator: SynthTranslator | None = None
) -> SynthAssets:
    """The training and generation multi-assets of a declaration, with the standard bodies."""
    translator = translator or SynthTranslator()
    resource_key = declaration.resource_key

    # the bodies look resources up by key (the SynthResource and any connectors), so the ops declare them
    needs = {resource_key, *declaration.connector_keys()}

    @synth_generator_assets(declaration=declaration, translator=translator, required_resource_keys=needs)
    def _train(context: dg.AssetExecutionContext, config: TrainRunConfig, **sources: Any):
        synth = getattr(context.resources, resource_key)
        yield from synth.train(context, declaration, sources, config)

    @synthetic_dataset_assets(declaration=declaration, translator=translator, required_resource_keys=needs)
    def _generate(context: dg.AssetExecutionContext, config: GenerateRunConfig):
        synth = getattr(context.resources, resource_key)
        yield from synth.generate(context, declaration, config)

    specs = _specs(declaration, translator)
    keys = _Keys(
        generator=specs["generator"].key,
        model_report=specs["model_report"].key if specs["model_report"] else None,
        tables={t: s.key for t, s in specs["tables"].items()},
        data_report=specs["data_report"].key if specs["data_report"] else None,
    )
    return SynthAssets(declaration, _train, _generate, keys)
