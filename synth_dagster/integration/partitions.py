"""A synthetic table drawn in partitions: each partition generates its own slice of the dataset.

`synthetic_slices_asset(declaration, slices=4)` declares the synthetic table of a one-table
declaration with the partitions "0-of-4" .. "3-of-4" (static), or with a DynamicPartitionsDefinition
whose keys a sensor adds (`slice_partitions_request`). Partition i of n loads the generator from the
shared store and draws chunks n*i//n.. of the dataset's fixed chunk plan (sdk/slices.py): the
partitions of a backfill run side by side under any executor (multiprocess, k8s_job_executor,
celery, docker), their keys never meet, and together they are the rows of one run of the same
size and random_state. The value is the partition's chunks, one at a time: the ParquetIOManager
streams them into the partition's part.
"""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from synth_dagster.engine.multitable.chunks import DEFAULT_CHUNK_ROWS
from synth_dagster.integration import metadata as md
from synth_dagster.integration.assets import _specs
from synth_dagster.integration.declaration import SyntheticData
from synth_dagster.integration.resource import _current_generator_id
from synth_dagster.integration.translator import SynthTranslator
from synth_dagster.sdk.slices import generate_slice, parse_slice_key, slice_keys

__all__ = ["slice_keys", "slice_partitions_request", "synthetic_slices_asset"]


def slice_partitions_request(
    partitions_def: dg.DynamicPartitionsDefinition, count: int
) -> dg.AddDynamicPartitionsRequest:
    """What a sensor returns to draw the dataset in `count` slices: the keys "0-of-n" .. ."""
    return partitions_def.build_add_request(slice_keys(count))


def synthetic_slices_asset(
    declaration: SyntheticData,
    slices: int | dg.DynamicPartitionsDefinition,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    key: dg.AssetKey | None = None,
    translator: SynthTranslator | None = None,
    io_manager_key: str | None = None,
) -> dg.AssetsDefinition:
    """The synthetic table of a one-table declaration, one slice per partition (see the module)."""
    if len(declaration.table_names) != 1:
        raise dg.DagsterInvalidDefinitionError(
            f"synthetic_slices_asset draws one table; {declaration.name!r} has {declaration.table_names}"
        )
    if declaration.destination is not None:
        raise dg.DagsterInvalidDefinitionError(
            "synthetic_slices_asset writes through an IO manager (one part per partition); "
            "remove the destination or use build_synthetic_data_assets"
        )
    table = declaration.table_names[0]
    specs = _specs(declaration, translator or SynthTranslator())
    generator_key = specs["generator"].key
    partitions_def = dg.StaticPartitionsDefinition(slice_keys(slices)) if isinstance(slices, int) else slices

    @dg.asset(
        key=key or specs["tables"][table].key,
        deps=[generator_key],
        partitions_def=partitions_def,
        io_manager_key=io_manager_key or declaration.io_manager_key or "io_manager",
        required_resource_keys={declaration.resource_key},
        description=f"The synthetic {declaration.name} table, one slice per partition.",
    )
    def _slice(context: dg.AssetExecutionContext) -> dg.Output:
        synth = getattr(context.resources, declaration.resource_key)
        index, count = parse_slice_key(context.partition_key)
        generator_id = _current_generator_id(context, generator_key)
        config = declaration.synthetic_config()
        context.log.info(
            f"slice {index} of {count} of synthetic {declaration.name!r} from generator {generator_id} "
            f"(random_state {config.random_state}, chunks of {chunk_rows} rows)"
        )
        chunks = generate_slice(synth.get_client(), generator_id, config, index, count, chunk_rows)

        def frames() -> Iterator[pd.DataFrame]:
            for tables in chunks:
                yield tables[table]

        return dg.Output(
            frames(),
            metadata={
                md.GENERATOR_ID: dg.MetadataValue.text(generator_id),
                "slice": dg.MetadataValue.text(f"{index} of {count}"),
            },
        )

    return _slice
