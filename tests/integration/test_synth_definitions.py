"""Definitions without training: translator, declaration validation, IO manager, resource, progress."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import torch

from synth_dagster.domain import JobProgress, ProgressStatus
from synth_dagster.domain.errors import ConfigError
from synth_dagster.integration import (
    ParquetIOManager,
    QualityChecks,
    SourceTable,
    SynthAssetProps,
    SyntheticData,
    SynthResource,
    SynthTranslator,
    build_synthetic_data_assets,
)
from synth_dagster.integration.jobs import run_training_job


def _shop(**kwargs) -> SyntheticData:
    return SyntheticData(
        name="shop",
        tables=[
            SourceTable("customers", asset="raw_customers"),
            SourceTable("orders", asset=["raw", "orders"]),
        ],
        **kwargs,
    )


def test_default_keys_lineage_and_op_names() -> None:
    synth = build_synthetic_data_assets(_shop())
    assert synth.generator_key == dg.AssetKey("shop_generator")
    assert synth.synthetic_keys == {
        "customers": dg.AssetKey("shop_customers_synthetic"),
        "orders": dg.AssetKey("shop_orders_synthetic"),
    }
    specs = {s.key.to_user_string(): s for s in [*synth.training.specs, *synth.generation.specs]}
    assert {d.asset_key for d in specs["shop_generator"].deps} == {
        dg.AssetKey("raw_customers"),
        dg.AssetKey(["raw", "orders"]),
    }
    assert [d.asset_key for d in specs["shop_model_report"].deps] == [synth.generator_key]
    assert [d.asset_key for d in specs["shop_orders_synthetic"].deps] == [synth.generator_key]
    assert {d.asset_key for d in specs["shop_data_report"].deps} == set(synth.synthetic_keys.values())
    assert {s.group_name for s in specs.values()} == {"synthetic_data"}
    assert (synth.training_op_name, synth.generation_op_name) == ("shop_train", "shop_generate")
    assert list(synth) == [synth.training, synth.generation] and len(synth) == 2


def test_custom_translator() -> None:
    class Privacy(SynthTranslator):
        def get_asset_spec(self, props: SynthAssetProps) -> dg.AssetSpec:
            spec = super().get_asset_spec(props)
            return spec.replace_attributes(
                key=spec.key.with_prefix("privacy"), group_name="privacy", tags={"team": "data-platform"}
            )

        def get_automation_condition(self, props):
            return dg.AutomationCondition.eager() if props.role == "synthetic_table" else None

    synth = build_synthetic_data_assets(_shop(), translator=Privacy())
    assert synth.generator_key == dg.AssetKey(["privacy", "shop_generator"])
    for spec in [*synth.training.specs, *synth.generation.specs]:
        assert spec.key.path[0] == "privacy" and spec.group_name == "privacy"
        assert spec.tags["team"] == "data-platform"
    tables = [s for s in synth.generation.specs if s.metadata.get("synth_dagster/role") == "synthetic_table"]
    assert all(s.automation_condition is not None for s in tables)
    # lineage follows the translated keys
    assert all(d.asset_key == synth.generator_key for s in tables for d in s.deps)
    check_keys = {c.asset_key for c in synth.training.check_specs}
    assert check_keys == {synth.generator_key}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name"}, "must be an identifier"),
        ({"tables": []}, "at least one SourceTable"),
        ({"model": {"max_epochs": -1}}, "max_epochs"),
        ({"size": {"nope": 3}}, "unknown tables"),
        ({"sampling": {"sampling_temperature": 5}}, "sampling_temperature"),
    ],
)
def test_declaration_errors_are_specific(kwargs, message) -> None:
    base = {"name": "shop", "tables": [SourceTable("t", asset="raw")]}
    with pytest.raises((ConfigError, ValueError), match=message):
        SyntheticData(**{**base, **kwargs})


def test_source_table_and_checks_validation() -> None:
    with pytest.raises(ConfigError, match="either asset"):
        SourceTable("t")
    with pytest.raises(ConfigError, match="both connector"):
        SourceTable("t", connector="db")
    with pytest.raises(ConfigError, match="min_accuracy"):
        QualityChecks(min_accuracy=1.5)
    with pytest.raises(ConfigError, match="severity"):
        QualityChecks(severity="FATAL")  # type: ignore[arg-type]


def test_configs_merge_defaults_declaration_and_run_overrides() -> None:
    shop = _shop(
        model={"max_epochs": 5},
        random_state=3,
        size={"customers": 10},
        sampling={"sampling_temperature": 0.8},
    )
    frames = {"customers": pd.DataFrame({"a": [1]}), "orders": pd.DataFrame({"b": [2]})}
    config = shop.generator_config(
        frames, {"max_epochs": 1, "max_training_time": 2}, {"max_training_time": 3}
    )
    model = config.tables[0].tabular_model_configuration
    assert (model.max_epochs, model.max_training_time) == (5, 3)
    assert config.random_state == 3
    synthetic = shop.synthetic_config(size={"orders": 4}, random_state=9)
    tables = {t.name: t.configuration for t in synthetic.tables}
    assert (tables["customers"].sample_size, tables["orders"].sample_size) == (10, 4)
    assert tables["orders"].sampling_temperature == 0.8 and synthetic.random_state == 9


def test_parquet_io_manager_round_trips_frames_and_dicts(tmp_path) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "when": pd.to_datetime(["2024-01-01"] * 3)})

    @dg.asset(io_manager_key="pq", key_prefix=["lake"])
    def one() -> pd.DataFrame:
        return frame

    @dg.asset(io_manager_key="pq")
    def many() -> dict:
        return {"a": frame, "b": frame.head(1)}

    @dg.asset
    def check(one: pd.DataFrame, many: dict) -> None:
        pd.testing.assert_frame_equal(one, frame)
        assert set(many) == {"a", "b"} and len(many["b"]) == 1

    result = dg.materialize([one, many, check], resources={"pq": ParquetIOManager(base_path=str(tmp_path))})
    assert (tmp_path / "lake" / "one.parquet").is_file() and (tmp_path / "many" / "b.parquet").is_file()
    meta = result.asset_materializations_for_node("lake__one")[0].metadata
    assert meta["dagster/row_count"].value == 3
    assert [c.name for c in meta["dagster/column_schema"].schema.columns] == ["x", "when"]


def test_resource_secrets_and_device(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("STORE_SECRET", "s3cr3t-value")
    resource = SynthResource(local_dir=str(tmp_path), storage_options={"secret": dg.EnvVar("STORE_SECRET")})
    assert "s3cr3t" not in repr(resource) and "STORE_SECRET" not in repr(resource)

    @dg.asset
    def uses(synth: SynthResource) -> None:
        assert synth.storage_options == {"secret": "s3cr3t-value"}  # resolved at run time only
        assert "s3cr3t" not in repr(synth)

    assert dg.materialize([uses], resources={"synth": resource}).success
    assert SynthResource(device="auto").resolved_device() == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert SynthResource(device="auto").get_client().resolved_device() == expected
    with pytest.raises(dg.DagsterInvalidConfigError, match="device"):
        SynthResource(device="tpu").resolved_device()


class _FakeJob:
    """A training job that advances one epoch per poll (stands in for the sdk's JobHandle)."""

    def __init__(self, polls: int, interrupt_at: int | None = None) -> None:
        self.polls, self.interrupt_at, self.seen = polls, interrupt_at, 0
        self.canceled = False
        self.training = self

    @property
    def training_status(self) -> ProgressStatus:
        if self.canceled:
            return ProgressStatus.CANCELED
        return ProgressStatus.DONE if self.seen >= self.polls else ProgressStatus.IN_PROGRESS

    def start(self) -> None: ...

    def progress(self) -> JobProgress:
        return JobProgress.model_validate(
            {
                "status": "IN_PROGRESS",
                "steps": [
                    {
                        "step_code": "TRAIN_MODEL",
                        "model_label": "t:tabular",
                        "status": "IN_PROGRESS",
                        "progress": {"value": self.seen, "max": self.polls},
                        "messages": [{"epoch": self.seen, "loss": 1.23456}],
                    },
                ],
            }
        )

    def wait(self, progress_bar: bool) -> None: ...

    def cancel(self) -> None:
        self.canceled = True

    def reload(self) -> None: ...

    def logs(self, file_path):
        raise FileNotFoundError


def test_training_progress_is_throttled_and_cancelled_with_the_run() -> None:
    now = [0.0]
    lines: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds
        job.seen += 1
        if job.interrupt_at is not None and job.seen >= job.interrupt_at:
            raise KeyboardInterrupt  # what Dagster's run termination looks like inside the step

    job = _FakeJob(polls=40)  # 40 polls of 0.5 s: 20 s of training
    run_training_job(job, "t", lines.append, interval=5.0, clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
    assert len(lines) == 4  # t = 0, 5, 10, 15
    assert lines[0] == "[t] t:tabular TRAIN_MODEL 0% (step 1/1) epoch 0 loss 1.235"

    job = _FakeJob(polls=40, interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):
        run_training_job(job, "t", lines.append, interval=5.0, clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
    assert job.canceled  # no worker keeps training for a run that is gone


def test_demo_definitions_load(tmp_path) -> None:
    from synth_dagster.demo import build_definitions

    defs = build_definitions(tmp_path)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"flights_source", "flights_generator", "flights_synthetic", "flights_model_report"} <= keys
    assert defs.resolve_sensor_def("flights_source_sensor") and defs.resolve_schedule_def(
        "flights_regenerate_schedule"
    )
