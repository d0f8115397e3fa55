"""Config-driven training and generation over the tables of a generator.

This is the engine's entry point for the sdk: `train_generator` learns every table of a
GeneratorConfig into a workspace folder, `generate` draws a synthetic dataset from it. Tables are
trained independently today; context and non-context relations plug in here (see issue on
sequences and multi-table).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    ModelConfiguration,
    SourceTableConfig,
    SyntheticDatasetConfig,
    SyntheticProbeConfig,
    SyntheticTableConfiguration,
)
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat import FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.keys import analyze_key, generate_keys
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress

MANIFEST = "generator.json"


@dataclass
class TableSummary:
    name: str
    rows: int
    columns: int
    training_rows: int
    holdout_rows: int
    epochs: float
    seconds: float
    stop_reason: str
    encodings: dict[str, str]
    model_size_bytes: int


def flat_options(
    table: SourceTableConfig, random_state: int | None, constraints: list[dict[str, Any]]
) -> FlatOptions:
    mc = table.tabular_model_configuration or ModelConfiguration()
    encodings = {
        c.name: str(
            c.model_encoding_type.value if hasattr(c.model_encoding_type, "value") else c.model_encoding_type
        )
        for c in (table.columns or [])
    }
    language = [c for c, e in encodings.items() if e.startswith("LANGUAGE")]
    if language:
        raise EngineInputError(
            f"table {table.name!r}: columns {language} use LANGUAGE encodings, which need the language model "
            "(not available yet); use TABULAR_CHARACTER or TABULAR_CATEGORICAL for now"
        )
    return FlatOptions(
        model_size=mc.model_size or "medium",
        max_sample_size=mc.max_sample_size,
        batch_size=mc.batch_size,
        gradient_accumulation_steps=mc.gradient_accumulation_steps,
        max_epochs=mc.max_epochs if mc.max_epochs is not None else 100.0,
        max_training_time=mc.max_training_time,
        enable_flexible_generation=mc.enable_flexible_generation is not False,
        value_protection=mc.value_protection is not False,
        rare_category_replacement_method=str(
            getattr(mc.rare_category_replacement_method, "value", mc.rare_category_replacement_method)
            or "CONSTANT"
        ),
        random_state=random_state,
        encoding_types={c: e for c, e in encodings.items() if e != "AUTO"},
        constraints=constraints,
    )


def _table_constraints(config: GeneratorConfig, table: str) -> list[dict[str, Any]]:
    out = []
    for c in config.constraints or []:
        if c.table_name == table:
            out.append({"type": str(getattr(c.type, "value", c.type)), "config": c.config.model_dump()})
    return out


def _check_single_tables(config: GeneratorConfig) -> None:
    for table in config.tables or []:
        if table.foreign_keys:
            raise EngineInputError(
                f"table {table.name!r} has foreign keys; multi-table generators (context and non-context keys) "
                "are not supported by this engine version yet — train the tables separately for now"
            )


def train_generator(
    config: GeneratorConfig,
    frames: Mapping[str, pd.DataFrame],
    workspace: str | Path,
    on_progress: ProgressCallback = no_progress,
    should_stop: StopCheck = never_stop,
    warm_start: str | Path | None = None,
) -> dict[str, TableSummary]:
    """Train every table into `workspace` (written atomically: a failure leaves no half model).

    `warm_start`: the workspace of an earlier training of this generator; its tables continue from
    their saved weights (tables it lacks start from scratch).
    """
    if not config.tables:
        raise EngineInputError("the generator config has no tables; add at least one table with data")
    _check_single_tables(config)
    workspace = Path(workspace)
    staging = Path(
        tempfile.mkdtemp(prefix=".staging-", dir=workspace.parent if workspace.parent.exists() else None)
    )
    summaries: dict[str, TableSummary] = {}
    try:
        for table in config.tables:
            if table.name not in frames:
                raise EngineInputError(f"no data was given for table {table.name!r}")
            frame = frames[table.name]
            if not isinstance(frame, pd.DataFrame):
                raise EngineInputError(
                    f"table {table.name!r}: data must be a pandas DataFrame, got {type(frame).__name__}"
                )
            if len(frame) == 0:
                raise EngineInputError(
                    f"table {table.name!r} is empty (0 rows); a generator needs rows to learn from"
                )
            keys = {}
            model_frame = frame
            if table.primary_key:
                if table.primary_key not in frame.columns:
                    raise EngineInputError(
                        f"table {table.name!r}: primary key {table.primary_key!r} is not a column"
                    )
                keys[table.primary_key] = analyze_key(frame[table.primary_key])
                model_frame = frame.drop(columns=[table.primary_key])

            def table_progress(p: EngineProgress, name: str = table.name) -> None:
                on_progress(
                    EngineProgress(
                        p.step,
                        p.completed,
                        p.total,
                        f"{name}: {p.message}",
                        p.epoch,
                        p.loss,
                        p.val_loss,
                        p.elapsed,
                    )
                )

            options = flat_options(table, config.random_state, _table_constraints(config, table.name))
            previous_dir = Path(warm_start) / "tables" / table.name if warm_start else None
            previous = (
                FlatGenerator.load(previous_dir)
                if previous_dir is not None and (previous_dir / "meta.json").exists()
                else None
            )
            flat = FlatGenerator.fit(model_frame, options, table_progress, should_stop, previous=previous)
            table_dir = staging / "tables" / table.name
            flat.save(table_dir)
            (table_dir / "keys.json").write_text(json.dumps({"columns": list(frame.columns), "keys": keys}))
            report = flat.report
            assert report is not None
            summaries[table.name] = TableSummary(
                name=table.name,
                rows=len(frame),
                columns=frame.shape[1],
                training_rows=flat.n_training_rows - len(flat.holdout_index),
                holdout_rows=len(flat.holdout_index),
                epochs=report.epochs,
                seconds=report.seconds,
                stop_reason=report.stop_reason,
                encodings={p.name: p.encoding_type for p in flat.plans},
                model_size_bytes=sum(f.stat().st_size for f in table_dir.iterdir()),
            )
        (staging / MANIFEST).write_text(
            json.dumps(
                {
                    "config": config.model_dump(mode="json"),
                    "tables": {k: asdict(v) for k, v in summaries.items()},
                }
            )
        )
        if workspace.exists():
            backup = workspace.with_name(workspace.name + ".old")
            shutil.rmtree(backup, ignore_errors=True)
            workspace.rename(backup)
            staging.rename(workspace)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            workspace.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(workspace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summaries


class TrainedGenerator:
    """A generator loaded from its workspace, ready to draw synthetic tables."""

    def __init__(self, workspace: str | Path):
        self.workspace = Path(workspace)
        manifest = json.loads((self.workspace / MANIFEST).read_text())
        self.config = GeneratorConfig.model_validate(manifest["config"])
        self.summaries = {k: TableSummary(**v) for k, v in manifest["tables"].items()}
        self._flat: dict[str, FlatGenerator] = {}

    def table(self, name: str) -> FlatGenerator:
        if name not in self.summaries:
            raise EngineInputError(
                f"the generator has no table {name!r}; its tables are {list(self.summaries)}"
            )
        if name not in self._flat:
            self._flat[name] = FlatGenerator.load(self.workspace / "tables" / name)
        return self._flat[name]

    def holdout_index(self, name: str) -> np.ndarray:
        return self.table(name).holdout_index

    def generate(
        self,
        config: SyntheticDatasetConfig | SyntheticProbeConfig | Mapping[str, Any] | None = None,
        *,
        is_probe: bool = False,
        on_progress: ProgressCallback = no_progress,
    ) -> dict[str, pd.DataFrame]:
        if config is None:
            config = SyntheticProbeConfig() if is_probe else SyntheticDatasetConfig()
        elif isinstance(config, Mapping):
            config = (SyntheticProbeConfig if is_probe else SyntheticDatasetConfig).model_validate(config)
        by_name = {t.name: t.configuration for t in (config.tables or [])}
        unknown = sorted(set(by_name) - set(self.summaries))
        if unknown:
            raise EngineInputError(
                f"the synthetic config names tables {unknown} that the generator does not have: {list(self.summaries)}"
            )
        rng = np.random.default_rng(config.random_state)
        out: dict[str, pd.DataFrame] = {}
        for name, summary in self.summaries.items():
            tc = by_name.get(name) or SyntheticTableConfiguration()
            out[name] = self._generate_table(name, tc, summary, is_probe, rng, on_progress)
        return out

    def _generate_table(
        self,
        name: str,
        tc: SyntheticTableConfiguration,
        summary: TableSummary,
        is_probe: bool,
        rng: np.random.Generator,
        on_progress: ProgressCallback,
    ) -> pd.DataFrame:
        flat = self.table(name)
        meta = json.loads((self.workspace / "tables" / name / "keys.json").read_text())
        seed = tc.seed_frame()
        if seed is not None and not isinstance(seed, pd.DataFrame):
            seed = pd.DataFrame(seed)
        size = tc.effective_sample_size(is_subject=True, training_rows=summary.rows, is_probe=is_probe)
        keys = meta["keys"]
        seed_keys = None
        if seed is not None:
            unknown = [c for c in seed.columns if c not in meta["columns"]]
            if unknown:
                raise EngineInputError(
                    f"table {name!r}: seed columns {unknown} are not columns of the table; its columns are {meta['columns']}"
                )
            seed_keys = {k: seed[k].reset_index(drop=True) for k in keys if k in seed.columns}
            seed = seed.drop(columns=[k for k in keys if k in seed.columns])
        request = GenerationRequest(
            size=size,
            seed=seed,
            sampling_temperature=tc.sampling_temperature if tc.sampling_temperature is not None else 1.0,
            sampling_top_p=tc.sampling_top_p if tc.sampling_top_p is not None else 1.0,
            rebalancing=tc.rebalancing.model_dump() if tc.rebalancing else None,
            imputation=list(tc.imputation.columns) if tc.imputation else [],
            fairness=tc.fairness.model_dump() if tc.fairness else None,
            random_state=int(rng.integers(2**31)),
        )
        frame = flat.sample(request, on_progress)
        for key, info in keys.items():
            values = generate_keys(info, len(frame), rng)
            if seed_keys and key in seed_keys:
                values = seed_keys[key].astype(values.dtype, errors="ignore")
            frame.insert(0, key, values)
        return frame[meta["columns"]]
