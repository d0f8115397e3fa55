"""How a declaration's objects map to Dagster asset specs (keys, groups, tags, kinds, automation).

Subclass `SynthTranslator` and override `get_asset_spec`, like `DagsterSlingTranslator`:

    class MyTranslator(SynthTranslator):
        def get_asset_spec(self, props: SynthAssetProps) -> dg.AssetSpec:
            spec = super().get_asset_spec(props)
            return spec.replace_attributes(key=spec.key.with_prefix("synthetic"), group_name="privacy")

Dependencies are not the translator's business: the factories set them after translating, so a
translator cannot break the lineage between sources, generator, synthetic tables and reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import dagster as dg

from synth_dagster.integration.declaration import SyntheticData

__all__ = ["ROLE_KEY", "TABLE_KEY", "Role", "SynthAssetProps", "SynthTranslator"]

Role = Literal["generator", "model_report", "synthetic_table", "data_report"]

# Stamped on every spec the factories build, after the translator ran: the resource finds its
# assets by role, whatever keys the translator chose.
ROLE_KEY = "synth_dagster/role"
TABLE_KEY = "synth_dagster/table"


@dataclass(frozen=True)
class SynthAssetProps:
    """What the translator is asked about: one asset of one declaration."""

    role: Role
    declaration: SyntheticData
    table: str | None = None  # for synthetic tables

    @property
    def name(self) -> str:
        return self.declaration.name


class SynthTranslator:
    """Default mapping: keys `<name>_generator`, `<name>_synthetic` (`<name>_<table>_synthetic` per
    table when a declaration has several), `<name>_model_report`, `<name>_data_report`; every asset
    in the group `synthetic_data`."""

    def get_asset_spec(self, props: SynthAssetProps) -> dg.AssetSpec:
        return dg.AssetSpec(
            key=self.get_asset_key(props),
            description=self.get_description(props),
            group_name=self.get_group_name(props),
            tags=self.get_tags(props),
            kinds=self.get_kinds(props),
            automation_condition=self.get_automation_condition(props),
        )

    def get_asset_key(self, props: SynthAssetProps) -> dg.AssetKey:
        if props.role == "synthetic_table":
            if len(props.declaration.table_names) == 1:
                return dg.AssetKey(f"{props.name}_synthetic")
            table = re.sub(r"\W", "_", props.table or "")
            return dg.AssetKey(f"{props.name}_{table}_synthetic")
        suffix = {"generator": "generator", "model_report": "model_report", "data_report": "data_report"}
        return dg.AssetKey(f"{props.name}_{suffix[props.role]}")

    def get_group_name(self, props: SynthAssetProps) -> str | None:
        return "synthetic_data"

    def get_tags(self, props: SynthAssetProps) -> dict[str, str]:
        return {}

    def get_kinds(self, props: SynthAssetProps) -> set[str]:
        return {
            "generator": {"pytorch"},
            "model_report": {"html"},
            "synthetic_table": {"pandas"},
            "data_report": {"html"},
        }[props.role]

    def get_description(self, props: SynthAssetProps) -> str:
        tables = ", ".join(props.declaration.table_names)
        return {
            "generator": f"Synthetic data generator trained on {tables}.",
            "model_report": f"Model report (quality and privacy) of the {props.name} generator.",
            "synthetic_table": f"Synthetic {props.table} sampled from the {props.name} generator.",
            "data_report": f"Data report of the synthetic {props.name} dataset.",
        }[props.role]

    def get_automation_condition(self, props: SynthAssetProps) -> dg.AutomationCondition | None:
        """None: nothing runs by itself. Return `dg.AutomationCondition.eager()` for synthetic tables
        to regenerate whenever the generator is retrained (needs the automation sensor running)."""
        return None
