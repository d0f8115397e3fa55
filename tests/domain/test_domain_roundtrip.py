"""JSON round trips (without DataFrames), dict acceptance, JSON schema, and the layering rule."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    ModelEncodingType,
    SourceTable,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
    SyntheticTable,
)


def _full_generator(customers: pd.DataFrame, orders: pd.DataFrame) -> GeneratorConfig:
    return GeneratorConfig.model_validate(
        {
            "name": "shop",
            "description": "two tables",
            "random_state": 1,
            "tables": [
                {
                    "name": "customers",
                    "data": customers,
                    "primary_key": "id",
                    "tabular_model_configuration": {
                        "model": "small",
                        "max_training_time": 2,
                        "differential_privacy": {"max_epsilon": 5.0},
                    },
                },
                {
                    "name": "orders",
                    "data": orders,
                    "primary_key": "order_id",
                    "foreign_keys": [
                        {"column": "customer_id", "referenced_table": "customers", "is_context": True}
                    ],
                    "columns": [
                        "order_id",
                        "customer_id",
                        {"name": "price", "model_encoding_type": "TABULAR_NUMERIC_BINNED"},
                        "max_price",
                        "status",
                        {"name": "channel", "model_encoding_type": "LANGUAGE_CATEGORICAL"},
                    ],
                    "language_model_configuration": {"max_epochs": 1},
                },
                {"name": "reviews", "source_connector_id": "conn", "location": "public.reviews"},
            ],
            "constraints": [
                {
                    "type": "Inequality",
                    "config": {"table_name": "orders", "lowColumn": "price", "highColumn": "max_price"},
                }
            ],
        }
    )


def test_generator_json_round_trip(customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    config = _full_generator(customers, orders)
    dumped = config.model_dump(mode="json")
    assert "data" not in dumped["tables"][0]
    json.dumps(dumped)  # plain JSON
    again = GeneratorConfig.model_validate(dumped)
    assert again.model_dump(mode="json") == dumped
    assert GeneratorConfig.model_validate_json(config.model_dump_json()).model_dump(mode="json") == dumped
    # what the round trip keeps: columns taken from data, defaulted models
    assert again.get_table("customers").column_names == ["id", "name", "age"]
    assert again.get_table("orders").encoding_types == {
        "order_id": ModelEncodingType.AUTO,
        "customer_id": ModelEncodingType.AUTO,
        "price": ModelEncodingType.TABULAR_NUMERIC_BINNED,
        "max_price": ModelEncodingType.AUTO,
        "status": ModelEncodingType.AUTO,
        "channel": ModelEncodingType.LANGUAGE_CATEGORICAL,
    }
    customers_model = again.get_table("customers").tabular_model_configuration
    assert customers_model is not None and customers_model.model == "MOSTLY_AI/Small"
    assert dumped["constraints"][0]["config"] == {
        "table_name": "orders",
        "low_column": "price",
        "high_column": "max_price",
    }


def test_dump_by_alias_round_trips(customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    config = _full_generator(customers, orders)
    camel = config.model_dump(mode="json", by_alias=True)
    assert "primaryKey" in camel["tables"][0]
    assert camel["constraints"][0]["config"]["lowColumn"] == "price"
    assert GeneratorConfig.model_validate(camel).model_dump(mode="json") == config.model_dump(mode="json")


def test_synthetic_dataset_json_round_trip() -> None:
    config = SyntheticDatasetConfig.model_validate(
        {
            "generator_id": "g",
            "name": "n",
            "random_state": 3,
            "tables": [
                {
                    "name": "customers",
                    "configuration": {
                        "sample_size": 10,
                        "sample_seed_data": pd.DataFrame({"gender": ["F"]}),
                        "sample_seed_dict": [{"gender": "M"}],
                        "sampling_temperature": 0.8,
                        "rebalancing": {"column": "gender", "probabilities": {"F": 0.7}},
                        "imputation": {"columns": ["age"]},
                        "fairness": {"target_column": "income", "sensitive_columns": ["gender"]},
                        "enable_data_report": False,
                    },
                }
            ],
            "delivery": {"overwrite_tables": True, "destination_connector_id": "c", "location": "out"},
        }
    )
    dumped = config.model_dump(mode="json")
    assert "sample_seed_data" not in dumped["tables"][0]["configuration"]
    assert dumped["tables"][0]["configuration"]["sample_seed_dict"] == [{"gender": "M"}]
    json.dumps(dumped)
    assert SyntheticDatasetConfig.model_validate(dumped).model_dump(mode="json") == dumped
    assert (
        SyntheticDatasetConfig.model_validate_json(config.model_dump_json()).model_dump(mode="json") == dumped
    )


def test_probe_round_trip() -> None:
    probe = SyntheticProbeConfig(
        generator_id="g", tables=[{"name": "t", "configuration": {"sample_size": 2}}]
    )
    assert SyntheticProbeConfig.model_validate(probe.model_dump(mode="json")) == probe


def test_result_views_round_trip() -> None:
    table = SourceTable.model_validate(
        {
            "name": "t",
            "columns": [
                {"name": "a", "model_encoding_type": "TABULAR_CATEGORICAL", "value_range": {"values": ["x"]}}
            ],
            "tabular_model_metrics": {"accuracy": {"overall": 0.9}},
        }
    )
    assert SourceTable.model_validate(table.model_dump(mode="json")) == table
    synthetic = SyntheticTable(name="t", total_rows=5, configuration={"sample_size": 5})
    assert SyntheticTable.model_validate(synthetic.model_dump(mode="json")) == synthetic


def test_json_schema_skips_dataframes() -> None:
    schema = GeneratorConfig.model_json_schema()
    assert "data" not in schema["$defs"]["SourceTableConfig"]["properties"]
    synthetic = SyntheticDatasetConfig.model_json_schema()
    assert "sampleSeedData" not in synthetic["$defs"]["SyntheticTableConfiguration"]["properties"]


def test_domain_does_not_import_dagster_torch_or_engine() -> None:
    code = (
        "import sys, synth_dagster.domain\n"
        "bad = [m for m in ('dagster', 'torch', 'synth_dagster.engine') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
