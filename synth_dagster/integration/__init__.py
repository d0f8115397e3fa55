"""synth_dagster.integration: generators, synthetic datasets and reports as Dagster assets.

    import dagster as dg
    from synth_dagster.integration import (
        SourceTable, SyntheticData, SynthResource, build_synthetic_data_assets,
    )

    flights = build_synthetic_data_assets(
        SyntheticData(name="flights", tables=[SourceTable("flights", asset="flights_raw")], size=1000)
    )
    defs = dg.Definitions(assets=[flights_raw, *flights], resources={"synth": SynthResource()})

The same declaration in YAML for the `dg` CLI: `SyntheticDataComponent`. See docs/dagster.md.
"""

from synth_dagster.integration.assets import (
    SynthAssets,
    build_synthetic_data_assets,
    synth_generator_assets,
    synthetic_dataset_assets,
)
from synth_dagster.integration.checks import ACCURACY_CHECK, DCR_CHECK, IMS_CHECK
from synth_dagster.integration.components import SyntheticDataComponent
from synth_dagster.integration.connectors import ConnectorIOManager, ConnectorResource
from synth_dagster.integration.declaration import (
    ConnectorDestination,
    QualityChecks,
    SourceTable,
    SyntheticData,
)
from synth_dagster.integration.io_managers import ParquetIOManager
from synth_dagster.integration.mock import MockData, MockRunConfig, build_mock_data_assets
from synth_dagster.integration.partitions import (
    slice_keys,
    slice_partitions_request,
    synthetic_slices_asset,
)
from synth_dagster.integration.resource import SynthResource
from synth_dagster.integration.runconfig import GenerateRunConfig, TrainRunConfig
from synth_dagster.integration.schedules import build_regeneration_schedule
from synth_dagster.integration.sensors import (
    AssetsMaterialized,
    ConnectorMaxValue,
    ConnectorRowCount,
    FileModified,
    SourceWatch,
    build_source_sensor,
)
from synth_dagster.integration.translator import SynthAssetProps, SynthTranslator

__all__ = [
    "ACCURACY_CHECK",
    "DCR_CHECK",
    "IMS_CHECK",
    "AssetsMaterialized",
    "ConnectorDestination",
    "ConnectorIOManager",
    "ConnectorMaxValue",
    "ConnectorResource",
    "ConnectorRowCount",
    "FileModified",
    "GenerateRunConfig",
    "MockData",
    "MockRunConfig",
    "ParquetIOManager",
    "QualityChecks",
    "SourceTable",
    "SourceWatch",
    "SynthAssetProps",
    "SynthAssets",
    "SynthResource",
    "SynthTranslator",
    "SyntheticData",
    "SyntheticDataComponent",
    "TrainRunConfig",
    "build_mock_data_assets",
    "build_regeneration_schedule",
    "build_source_sensor",
    "build_synthetic_data_assets",
    "synth_generator_assets",
    "slice_keys",
    "slice_partitions_request",
    "synthetic_dataset_assets",
    "synthetic_slices_asset",
]
