"""A multi-table declaration materialized in Dagster: a subject table and its sequences, from
upstream assets, to one synthetic asset per table that downstream assets load."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
from synth_helpers import metadata_of

from synth_dagster.integration import (
    ParquetIOManager,
    QualityChecks,
    SourceTable,
    SyntheticData,
    SynthResource,
    build_synthetic_data_assets,
)


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    users = pd.DataFrame({"user_id": np.arange(1, 151), "plan": rng.choice(["free", "pro"], 150)})
    rows = [
        {"user_id": uid, "step": k, "minutes": float(rng.gamma(2, 30 if plan == "pro" else 5))}
        for uid, plan in zip(users.user_id, users.plan, strict=True)
        for k in range(int(rng.integers(3, 8)) if plan == "pro" else int(rng.integers(0, 2)))
    ]
    return users, pd.DataFrame(rows)


def test_multi_table_declaration_materializes_every_table(tmp_path: Path) -> None:
    users, sessions = _frames()

    @dg.asset(io_manager_key="parquet")
    def users_raw() -> pd.DataFrame:
        return users

    @dg.asset(io_manager_key="parquet")
    def sessions_raw() -> pd.DataFrame:
        return sessions

    synth = build_synthetic_data_assets(
        SyntheticData(
            name="app",
            tables=[
                SourceTable("users", asset="users_raw", config={"primary_key": "user_id"}),
                SourceTable(
                    "sessions",
                    asset="sessions_raw",
                    config={
                        "foreign_keys": [
                            {"column": "user_id", "referenced_table": "users", "is_context": True}
                        ]
                    },
                ),
            ],
            model={"max_epochs": 6, "model": "MOSTLY_AI/Small"},
            random_state=3,
            size=80,  # every subject table; sessions follow their users
            checks=QualityChecks(min_accuracy=0.2, max_dcr_share=0.95),
            io_manager_key="parquet",
        )
    )

    @dg.asset(io_manager_key="parquet")
    def minutes_per_plan(
        app_users_synthetic: pd.DataFrame, app_sessions_synthetic: pd.DataFrame
    ) -> pd.DataFrame:
        joined = app_sessions_synthetic.merge(app_users_synthetic, on="user_id")
        return joined.groupby("plan", as_index=False)["minutes"].sum()

    assert set(synth.synthetic_keys) == {"users", "sessions"}
    assert synth.synthetic_keys["users"].to_user_string() == "app_users_synthetic"
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [users_raw, sessions_raw, *synth, minutes_per_plan],
            resources={
                "synth": SynthResource(local_dir=str(tmp_path / "store"), log_interval_seconds=1.0),
                "parquet": ParquetIOManager(base_path=str(tmp_path / "out")),
            },
            instance=instance,
        )
    assert result.success
    out_users = pd.read_parquet(tmp_path / "out" / "app_users_synthetic.parquet")
    out_sessions = pd.read_parquet(tmp_path / "out" / "app_sessions_synthetic.parquet")
    assert len(out_users) == 80 and out_users.user_id.is_unique
    assert out_sessions.user_id.isin(out_users.user_id).all()
    per_plan = result.output_for_node("minutes_per_plan").set_index("plan").minutes
    assert per_plan["pro"] > per_plan.get("free", 0.0)  # pro users have longer and more sessions
    meta = metadata_of(result, "app_sessions_synthetic")
    assert meta["dagster/row_count"] == len(out_sessions)
    assert 0.0 < meta["accuracy"] <= 1.0  # the sequences' data quality, against their users
