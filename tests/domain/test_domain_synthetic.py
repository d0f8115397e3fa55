from __future__ import annotations

import base64

import pandas as pd
import pytest
from pydantic import ValidationError

from synth_dagster.domain import (
    ConfigError,
    FairnessConfig,
    GeneratorConfig,
    IfExists,
    RebalancingConfig,
    SyntheticDatasetConfig,
    SyntheticDatasetDelivery,
    SyntheticProbeConfig,
    SyntheticTableConfig,
    SyntheticTableConfiguration,
    validate_synthetic_config,
)

ENCODINGS = {
    "customers": {
        "id": "AUTO",
        "gender": "TABULAR_CATEGORICAL",
        "age": "TABULAR_NUMERIC_AUTO",
        "born": "TABULAR_DATETIME",
    },
    "orders": {"customer_id": "AUTO", "status": "TABULAR_CATEGORICAL", "price": "TABULAR_NUMERIC_AUTO"},
}


def _dataset(table: str, **configuration: object) -> dict:
    return {"tables": [{"name": table, "configuration": configuration}]}


# --------------------------------------------------------------------------- models


def test_table_configuration_defaults() -> None:
    cfg = SyntheticTableConfiguration()
    assert cfg.sample_size is None
    assert (
        cfg.sample_seed_connector_id is None and cfg.sample_seed_dict is None and cfg.sample_seed_data is None
    )
    assert cfg.sampling_temperature == 1.0 and cfg.sampling_top_p == 1.0
    assert cfg.rebalancing is None and cfg.imputation is None and cfg.fairness is None
    assert cfg.enable_data_report is True
    assert not cfg.has_seed


def test_none_sampling_parameters_mean_default() -> None:
    cfg = SyntheticTableConfiguration(sampling_temperature=None, sampling_top_p=None)
    assert (cfg.sampling_temperature, cfg.sampling_top_p) == (1.0, 1.0)


def test_sampling_ranges() -> None:
    with pytest.raises(ValidationError, match="sampling_temperature"):
        SyntheticTableConfiguration(sampling_temperature=2.5)
    with pytest.raises(ValidationError, match="sampling_top_p"):
        SyntheticTableConfiguration(sampling_top_p=0)


@pytest.mark.parametrize("size", [0, -3])
def test_sample_size_must_be_positive(size: int) -> None:
    with pytest.raises(ValidationError, match=f"size must be a positive integer, got {size}"):
        SyntheticTableConfiguration(sample_size=size)


def test_camel_case_table_configuration() -> None:
    cfg = SyntheticTableConfiguration.model_validate(
        {"sampleSize": 5, "samplingTemperature": 0.5, "samplingTopP": 0.95, "enableDataReport": False}
    )
    assert (cfg.sample_size, cfg.sampling_temperature, cfg.sampling_top_p, cfg.enable_data_report) == (
        5,
        0.5,
        0.95,
        False,
    )


def test_table_config_gets_a_default_configuration() -> None:
    assert SyntheticTableConfig(name="t").configuration == SyntheticTableConfiguration()
    assert SyntheticTableConfig(name="t", configuration=None).configuration.sample_size is None


def test_rebalancing_probabilities() -> None:
    cfg = RebalancingConfig(column="gender", probabilities={"F": 0.5, "M": 0.3})
    assert cfg.probabilities == {"F": 0.5, "M": 0.3}
    assert (
        RebalancingConfig(column="c", probabilities={"a": 0.1, "b": 0.2, "c": 0.7}).probabilities["c"] == 0.7
    )
    assert RebalancingConfig(column="flag", probabilities={True: 0.2}).probabilities == {"True": 0.2}


def test_rebalancing_probability_out_of_range() -> None:
    with pytest.raises(
        ValidationError,
        match="rebalancing column 'gender': probability for 'F' is 1.5; probabilities must be between 0 and 1",
    ):
        RebalancingConfig(column="gender", probabilities={"F": 1.5})
    with pytest.raises(ValidationError, match="probability for 'F' is -0.1"):
        RebalancingConfig(column="gender", probabilities={"F": -0.1})


def test_rebalancing_probabilities_sum_above_one() -> None:
    with pytest.raises(
        ValidationError,
        match="rebalancing column 'gender': probabilities sum to 1.2, but the sum must be at most 1",
    ):
        RebalancingConfig(column="gender", probabilities={"F": 0.6, "M": 0.6})


def test_rebalancing_without_probabilities() -> None:
    with pytest.raises(ValidationError, match="rebalancing column 'gender': probabilities is empty"):
        RebalancingConfig(column="gender", probabilities={})


def test_fairness_target_in_sensitive_columns() -> None:
    with pytest.raises(
        ValidationError,
        match="fairness: target column 'income' is also listed in sensitive_columns; remove it from sensitive_columns",
    ):
        FairnessConfig(target_column="income", sensitive_columns=["gender", "income"])


def test_fairness_needs_sensitive_columns() -> None:
    with pytest.raises(ValidationError, match="fairness: sensitive_columns is empty"):
        FairnessConfig(target_column="income", sensitive_columns=[])


def test_fairness_camel_case() -> None:
    cfg = FairnessConfig.model_validate({"targetColumn": "income", "sensitiveColumns": ["gender"]})
    assert cfg.sensitive_columns == ["gender"]


def test_dataset_config_dicts_and_defaults() -> None:
    config = SyntheticDatasetConfig.model_validate(
        {
            "generatorId": "g1",
            "name": "synthetic shop",
            "randomState": 42,
            "tables": [
                {
                    "name": "customers",
                    "configuration": {
                        "sample_size": 100,
                        "rebalancing": {"column": "gender", "probabilities": {"F": 0.5}},
                    },
                },
                {"name": "orders"},
            ],
            "delivery": {"overwriteTables": True, "destinationConnectorId": "c1", "location": "out"},
        }
    )
    assert config.generator_id == "g1" and config.random_state == 42
    assert config.table_configuration("customers").sample_size == 100
    assert config.table_configuration("missing") == SyntheticTableConfiguration()
    assert config.get_table("orders") is not None
    assert config.delivery is not None and config.delivery.if_exists is IfExists.REPLACE
    assert SyntheticDatasetConfig().tables is None and SyntheticDatasetConfig().delivery is None


def test_delivery_fields_are_required() -> None:
    with pytest.raises(ValidationError, match="destination_connector_id"):
        SyntheticDatasetDelivery.model_validate({"overwrite_tables": False, "location": "x"})
    delivery = SyntheticDatasetDelivery(overwrite_tables=False, destination_connector_id="c", location="x")
    assert delivery.if_exists is IfExists.FAIL


@pytest.mark.parametrize("klass", [SyntheticDatasetConfig, SyntheticProbeConfig])
def test_duplicate_synthetic_tables(klass: type) -> None:
    with pytest.raises(ValidationError, match="synthetic table 't' is configured 2 times"):
        klass.model_validate({"tables": [{"name": "t"}, {"name": "t"}]})


def test_probe_config() -> None:
    probe = SyntheticProbeConfig(
        generator_id="g", tables=[{"name": "t", "configuration": {"sample_size": 3}}]
    )
    assert probe.table_configuration("t").sample_size == 3
    with pytest.raises(ValidationError, match="name"):
        SyntheticProbeConfig.model_validate({"name": "probes have no name"})


def test_seed_data_accepts_frames_and_records() -> None:
    frame = pd.DataFrame({"gender": ["F", "M"]})
    cfg = SyntheticTableConfiguration(sample_seed_data=frame)
    assert cfg.has_seed and cfg.seed_frame() is frame
    records = SyntheticTableConfiguration(sample_seed_data=[{"gender": "F"}])
    seed = records.seed_frame()
    assert seed is not None and list(seed["gender"]) == ["F"]
    with pytest.raises(ValidationError, match="sample_seed_data must be a pandas DataFrame"):
        SyntheticTableConfiguration(sample_seed_data="base64...")


def test_seed_dict_forms() -> None:
    as_records = SyntheticTableConfiguration(sample_seed_dict=[{"a": 1}, {"a": 2}]).seed_frame()
    as_columns = SyntheticTableConfiguration(sample_seed_dict={"a": [1, 2]}).seed_frame()
    encoded = base64.b64encode(b'{"a": 1}\n{"a": 2}\n').decode()
    as_jsonl = SyntheticTableConfiguration(sample_seed_dict=encoded).seed_frame()
    for frame in (as_records, as_columns, as_jsonl):
        assert frame is not None and list(frame["a"]) == [1, 2]
    with pytest.raises(ConfigError, match="not base64-encoded JSON lines"):
        SyntheticTableConfiguration(sample_seed_dict="not base64!").seed_frame()


# --------------------------------------------------------------------------- validate_synthetic_config


def test_valid_against_column_map() -> None:
    config = _dataset(
        "customers",
        rebalancing={"column": "gender", "probabilities": {"F": 0.5}},
        imputation={"columns": ["age"]},
        fairness={"target_column": "gender", "sensitive_columns": ["id"]},
    )
    result = validate_synthetic_config(ENCODINGS, config)
    assert isinstance(result, SyntheticDatasetConfig)


def test_unknown_synthetic_table() -> None:
    with pytest.raises(
        ConfigError,
        match="synthetic table 'clients' is not a table of the generator \\(tables: customers, orders\\); "
        "use one of these names",
    ):
        validate_synthetic_config(ENCODINGS, _dataset("clients"))


def test_unknown_rebalancing_column() -> None:
    with pytest.raises(
        ConfigError,
        match="synthetic table 'customers': rebalancing column 'sex' is not a column of the table "
        "\\(columns: id, gender, age, born\\); fix the column name",
    ):
        validate_synthetic_config(
            ENCODINGS, _dataset("customers", rebalancing={"column": "sex", "probabilities": {"F": 1}})
        )


@pytest.mark.parametrize(
    ("column", "encoding"), [("age", "TABULAR_NUMERIC_AUTO"), ("born", "TABULAR_DATETIME")]
)
def test_rebalancing_on_numeric_or_datetime_column(column: str, encoding: str) -> None:
    with pytest.raises(
        ConfigError,
        match=f"synthetic table 'customers': rebalancing column '{column}' has encoding {encoding}; rebalancing "
        "only works on categorical columns",
    ):
        validate_synthetic_config(
            ENCODINGS, _dataset("customers", rebalancing={"column": column, "probabilities": {"1": 0.5}})
        )


def test_unknown_imputation_and_fairness_columns() -> None:
    config = _dataset(
        "customers",
        imputation={"columns": ["agee"]},
        fairness={"target_column": "gender", "sensitive_columns": ["race", "age"]},
    )
    with pytest.raises(ConfigError) as info:
        validate_synthetic_config(ENCODINGS, config)
    problems = info.value.problems
    assert "synthetic table 'customers': imputation column 'agee' is not a column of the table" in problems[0]
    assert "fairness sensitive column 'race' is not a column of the table" in problems[1]
    assert (
        "fairness sensitive column 'age' has encoding TABULAR_NUMERIC_AUTO; fairness only works on"
        in problems[2]
    )


def test_seed_columns_must_exist() -> None:
    config = SyntheticDatasetConfig(
        tables=[{"name": "customers", "configuration": {"sample_seed_data": pd.DataFrame({"gendr": ["F"]})}}]
    )
    with pytest.raises(ConfigError, match="seed column 'gendr' is not a column of the table"):
        validate_synthetic_config(ENCODINGS, config)


def test_column_map_forms() -> None:
    config = _dataset("t", imputation={"columns": ["a"]})
    validate_synthetic_config({"t": ["a", "b"]}, config)
    validate_synthetic_config({"t": None}, _dataset("t", imputation={"columns": ["anything"]}))
    with pytest.raises(ConfigError, match="column map: table 't', column 'a': unknown encoding type 'NOPE'"):
        validate_synthetic_config({"t": {"a": "NOPE"}}, config)


def test_against_generator_config(two_tables: dict) -> None:
    generator = GeneratorConfig.model_validate(two_tables)
    ok = _dataset("customers", rebalancing={"column": "name", "probabilities": {"a": 0.5}})
    validate_synthetic_config(generator, ok)
    with pytest.raises(
        ConfigError,
        match="synthetic table 'orders': rebalancing only applies to subject tables, but 'orders' has the "
        "context table 'customers'",
    ):
        validate_synthetic_config(
            generator, _dataset("orders", rebalancing={"column": "status", "probabilities": {"paid": 0.5}})
        )


def test_flexible_generation_required(two_tables: dict) -> None:
    two_tables["tables"][0]["tabular_model_configuration"] = {"enable_flexible_generation": False}
    generator = GeneratorConfig.model_validate(two_tables)
    with pytest.raises(
        ConfigError,
        match="synthetic table 'customers': imputation needs a generator trained with "
        "enable_flexible_generation=True",
    ):
        validate_synthetic_config(generator, _dataset("customers", imputation={"columns": ["age"]}))
    validate_synthetic_config(generator, _dataset("customers", sample_size=10))


def test_probe_config_is_accepted(two_tables: dict) -> None:
    generator = GeneratorConfig.model_validate(two_tables)
    probe = SyntheticProbeConfig(tables=[{"name": "customers", "configuration": {"sample_size": 1}}])
    assert validate_synthetic_config(generator, probe) is probe


def test_effective_sample_size() -> None:
    default = SyntheticTableConfiguration()
    assert default.effective_sample_size(is_subject=True, training_rows=500, is_probe=False) == 500
    assert default.effective_sample_size(is_subject=True, training_rows=500, is_probe=True) == 1
    assert default.effective_sample_size(is_subject=False, training_rows=500, is_probe=False) is None
    sized = SyntheticTableConfiguration(sample_size=7)
    assert sized.effective_sample_size(is_subject=True, training_rows=500, is_probe=True) == 7
    seeded = SyntheticTableConfiguration(sample_seed_dict=[{"a": 1}])
    assert seeded.effective_sample_size(is_subject=True, training_rows=500, is_probe=False) is None


def test_equality_with_seed_frames() -> None:
    frame = pd.DataFrame({"a": [1]})
    same = SyntheticTableConfiguration(sample_seed_data=frame.copy())
    assert SyntheticTableConfiguration(sample_seed_data=frame) == same
    assert SyntheticTableConfiguration(sample_seed_data=pd.DataFrame({"a": [2]})) != same
    assert SyntheticTableConfiguration() != same
