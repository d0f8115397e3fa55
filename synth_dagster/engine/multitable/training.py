"""Training every table of a generator into a workspace, parents first, written atomically."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from synth_dagster.domain import GeneratorConfig, SourceTableConfig
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.inputs import check_training_frame
from synth_dagster.engine.keys import analyze_key
from synth_dagster.engine.matching import KeyMatcher
from synth_dagster.engine.multitable.families import FittedTable, TrainingInput
from synth_dagster.engine.multitable.frames import conditioned_keys, lookup_tables, parent_links
from synth_dagster.engine.multitable.options import table_options
from synth_dagster.engine.multitable.registry import family, family_kind
from synth_dagster.engine.multitable.roles import ContextLink, ReferenceLink, TableRoles, json_labels
from synth_dagster.engine.multitable.state import TableState
from synth_dagster.engine.multitable.summary import MANIFEST, TableSummary
from synth_dagster.engine.privacy.settings import DPSettings
from synth_dagster.engine.progress import (
    EngineProgress,
    ProgressCallback,
    StopCheck,
    for_table,
    never_stop,
    no_progress,
)
from synth_dagster.engine.relations import Relations, prepare_relations
from synth_dagster.engine.workspace import matcher_dir, table_dir


def train_generator(
    config: GeneratorConfig,
    frames: Mapping[str, pd.DataFrame],
    workspace: str | Path,
    on_progress: ProgressCallback = no_progress,
    should_stop: StopCheck = never_stop,
    warm_start: str | Path | None = None,
    device: str | None = None,
) -> dict[str, TableSummary]:
    """Train every table into `workspace` (written atomically: a failure leaves no half model).

    `warm_start`: the workspace of an earlier training of this generator; its flat tables continue
    from their saved weights (sequence tables and key matchers are trained again).
    `device`: where flat tables train ("auto", "cpu", "cuda[:N]"); a table's `compute` wins over it.
    """
    if not config.tables:
        raise EngineInputError("the generator config has no tables; add at least one table with data")
    for table in config.tables:
        if table.name not in frames:
            raise EngineInputError(f"no data was given for table {table.name!r}")
        check_training_frame(table.name, frames[table.name], table.key_columns)
    cleaned, relations = prepare_relations(config, frames)
    for note in relations.notes:
        on_progress(EngineProgress("PULL_TRAINING_DATA", 1, 1, note))
    workspace = Path(workspace)
    staging = Path(
        tempfile.mkdtemp(prefix=".staging-", dir=workspace.parent if workspace.parent.exists() else None)
    )
    summaries: dict[str, TableSummary] = {}
    trained: dict[str, TableState] = {}
    rng = np.random.default_rng(config.random_state)
    try:
        for name in relations.order:
            table = config.get_table(name)
            links = parent_links(config, table, cleaned)
            job = TrainingInput(
                config=config,
                table=table,
                frame=cleaned[name],
                frames=cleaned,
                trained=trained,
                options=table_options(config, table, links, device),
                parent_links=links,
                rng=rng,
                on_progress=for_table(on_progress, name),
                should_stop=should_stop,
                warm_start=table_dir(warm_start, name) if warm_start else None,
            )
            summaries[name], trained[name] = _train_table(job, relations, staging)
        for name in relations.order:
            spent = _train_matchers(
                config, config.get_table(name), cleaned, trained, staging, on_progress, should_stop
            )
            if spent:
                summaries[name].epsilon = (summaries[name].epsilon or 0.0) + spent
        manifest = {
            "config": config.model_dump(mode="json"),
            "tables": {k: asdict(summaries[k]) for k in relations.order},
            "order": relations.order,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest))
        _publish(staging, workspace)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {k: summaries[k] for k in [t.name for t in config.tables]}


def _publish(staging: Path, workspace: Path) -> None:
    """The staged workspace in place of the old one, by renames."""
    if workspace.exists():
        backup = workspace.with_name(workspace.name + ".old")
        shutil.rmtree(backup, ignore_errors=True)
        workspace.rename(backup)
        staging.rename(workspace)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        workspace.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(workspace)


def _train_table(job: TrainingInput, relations: Relations, staging: Path) -> tuple[TableSummary, TableState]:
    """One table through its family: fit, save, its roles record and its summary."""
    table, frame = job.table, job.frame
    keys = {table.primary_key: analyze_key(frame[table.primary_key])} if table.primary_key else {}
    kind = family_kind(table)
    fitted = family(kind).fit(job)
    directory = table_dir(staging, table.name)
    directory.mkdir(parents=True, exist_ok=True)
    family(kind).save(fitted.model, directory)
    roles = _roles(job, kind, keys, relations.context_children.get(table.name, []), fitted)
    roles.save(directory)
    return _summary(table, frame, fitted, directory), fitted.state


def _roles(job: TrainingInput, kind: str, keys: dict, children: list[str], fitted: FittedTable) -> TableRoles:
    """What generation needs to know of a table besides its model: columns, keys and links."""
    table, frame = job.table, job.frame
    context_fk = table.context_foreign_key
    lookups = lookup_tables(job.config)
    return TableRoles(
        columns=list(frame.columns),
        keys=keys,
        kind=kind,  # type: ignore[arg-type]
        context=ContextLink(context_fk.column, context_fk.referenced_table) if context_fk else None,
        non_context=[
            ReferenceLink(
                fk.column,
                fk.referenced_table,
                modelled=fk.referenced_table in lookups,
                parent_columns=dict(job.parent_links.get(fk.column, {})),
            )
            for fk in table.foreign_keys or []
            if not fk.is_context
        ],
        children=children,
        dtypes={c: str(t) for c, t in frame.dtypes.items()},
        holdout_index=json_labels(fitted.holdout),
    )


def _summary(
    table: SourceTableConfig, frame: pd.DataFrame, fitted: FittedTable, directory: Path
) -> TableSummary:
    report = fitted.report
    return TableSummary(
        name=table.name,
        rows=len(frame),
        columns=frame.shape[1],
        training_rows=fitted.rows - len(fitted.holdout),
        holdout_rows=len(fitted.holdout),
        epochs=report.epochs,
        seconds=report.seconds,
        stop_reason=report.stop_reason,
        encodings={k: v for k, v in fitted.encodings.items() if not k.startswith("__")},
        model_size_bytes=sum(f.stat().st_size for f in directory.iterdir() if f.is_file()),
        epsilon=report.privacy["epsilon"] if report.privacy else None,
        delta=report.privacy["delta"] if report.privacy else None,
        language=fitted.language,
    )


def _train_matchers(
    config: GeneratorConfig,
    table: SourceTableConfig,
    frames: Mapping[str, pd.DataFrame],
    trained: Mapping[str, TableState],
    staging: Path,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> float:
    """A key matcher for every non-context key whose rows are not drawn with their parent; the
    ε their DP-SGD spent in all (0.0 without differential privacy)."""
    spent = 0.0
    state = trained[table.name]
    conditioned = conditioned_keys(config, table)
    lookups = lookup_tables(config)
    for fk in table.foreign_keys or []:
        if fk.is_context or fk.column in conditioned:
            continue
        parent = trained[fk.referenced_table]
        values = frames[table.name].loc[state.labels, fk.column]
        parent_of = parent.positions(values).to_numpy(dtype=float)
        linked = ~np.isnan(parent_of)
        if not linked.any():
            continue
        matcher, _ = KeyMatcher.fit(
            state.codes[linked],
            state.cards,
            parent_of[linked].astype(np.int64),
            parent.codes,
            parent.cards,
            random_state=config.random_state,
            parents_kept=fk.referenced_table in lookups,
            on_progress=for_table(
                on_progress, table.name, "TRAIN_KEY_MATCHER", f"key matcher for {fk.column!r}"
            ),
            should_stop=should_stop,
            privacy=DPSettings.from_config(
                getattr(table.tabular_model_configuration, "differential_privacy", None)
            ),
        )
        matcher.save(matcher_dir(staging, table.name, fk.column))
        spent += matcher.privacy["epsilon"] if matcher.privacy else 0.0
    return spent
