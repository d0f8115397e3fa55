"""Config-driven training and generation over the tables of a generator.

This is the engine's entry point for the sdk: `train_generator` learns every table of a
GeneratorConfig into a workspace folder, `TrainedGenerator.generate` draws a synthetic dataset.

- Subject tables (no context foreign key) are flat tables (`FlatGenerator`).
- A table under a context foreign key is a sequence table (`SequenceGenerator`): its rows per
  parent row are one sequence, with the parent's row (and its ancestors') as context. How many
  rows each parent has is a column of the parent's own model (`__seqlen__<child>`), so lengths,
  zero included, follow the parent's other columns and get its value protection.
- A table learns the columns of the parent rows its non-context foreign keys reference, and its
  rows get the generated parents they want (`parents`; a flat table is then drawn again for
  them). A key into a lookup table is learned as the key itself; its values too rare for value
  protection get a `KeyMatcher`, which picks a fitting parent row for a child row. A nullable key
  is modelled as a `__has__<column>` flag.
Tables are trained and generated parents first (`relations.prepare_relations`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

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
from synth_dagster.engine.inputs import check_training_frame
from synth_dagster.engine.keys import analyze_key, generate_keys
from synth_dagster.engine.matching import KeyMatcher
from synth_dagster.engine.parents import (
    MIN_DEMAND,
    MIN_DEMAND_PROTECTED,
    ParentLink,
    assign_parents,
    draw_with_parents,
    parent_column,
    parent_columns_of,
    popularity_of,
    referenced_values,
    seeded_positions,
    taken,
)
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress
from synth_dagster.engine.relations import Relations, prepare_relations
from synth_dagster.engine.sequence import GAP_SUFFIX, LAST_SUFFIX, SequenceGenerator, seed_rows
from synth_dagster.engine.workspace import matcher_dir
from synth_dagster.engine.workspace import table_dir as table_dir_of

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


SEQLEN_PREFIX = "__seqlen__"
HAS_PREFIX = "__has__"
LOOKUP_KEY_PREFIX = "__key__"
DEGREE_PREFIX = "__degree__"
CONSTANT_COLUMN = "__constant__"


@dataclass
class _Trained:
    """What later tables need of a trained (or generated) table."""

    keys: pd.Series  # primary key per kept row (or a range when the table has none)
    codes: np.ndarray  # the table's own codes per row
    cards: tuple[int, ...]
    ancestry: np.ndarray  # own codes plus the ancestors' codes: the context of child tables
    ancestry_cards: tuple[int, ...]
    validation: np.ndarray  # bool per row: held out for validation
    labels: np.ndarray  # index labels of the kept rows in the frame given to training
    subjects: np.ndarray | None = None  # per row, its root subject (a subject table's row: itself)

    def subject_of(self, rows: np.ndarray) -> np.ndarray:
        """The root subject of the given rows: value protection counts subjects, not rows."""
        return rows if self.subjects is None else self.subjects[rows]

    def positions(self, keys: pd.Series, *, as_text: bool = False) -> pd.Series:
        """The row of each key value (NaN for values that are no key of this table); `as_text`:
        the values are keys written as text (as a key into a lookup table is modelled)."""
        own = self.keys.astype(str) if as_text else self.keys
        return keys.map(pd.Series(np.arange(len(self.keys)), index=pd.Index(own.to_numpy())))


def _cards(generator: FlatGenerator) -> tuple[int, ...]:
    return tuple(generator.model.shape.cardinalities)


def _count_columns(
    config: GeneratorConfig, table: SourceTableConfig, frame: pd.DataFrame, frames: Mapping[str, pd.DataFrame]
) -> list[tuple[str, pd.Series]]:
    """Per row of a referenced table, how many rows of each referencing table point at it.

    Context children give the sequence lengths (`__seqlen__<child>`); non-context references
    give each parent's popularity (`__degree__<child>.<column>`): generated parents come with a
    popularity that fits their other columns, which the key matcher reads like any column.
    """
    if not table.primary_key:
        return []
    keys = frame[table.primary_key]
    counts = []
    for other in config.tables or []:
        for fk in other.foreign_keys or []:
            if fk.referenced_table != table.name:
                continue
            name = SEQLEN_PREFIX + other.name if fk.is_context else f"{DEGREE_PREFIX}{other.name}.{fk.column}"
            counts.append((name, _reference_counts(keys, frames[other.name][fk.column])))
    return counts


def _model_frame(
    table: SourceTableConfig,
    frame: pd.DataFrame,
    counts: list[tuple[str, pd.Series]],
    lookup_keys: Mapping[str, pd.Series] | None = None,
    parent_values: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The columns a table's model learns: no key columns; the referenced parents' columns
    (`parent_values`, see `_parent_values`), key flags, keys into lookup tables (`lookup_keys`,
    see `_lookup_key_labels`) and reference counts added."""
    lookup_keys = lookup_keys or {}
    drop = [c for c in [table.primary_key, *(fk.column for fk in table.foreign_keys or [])] if c]
    model = frame.drop(columns=drop)
    for fk in table.foreign_keys or []:
        if fk.column in lookup_keys:
            # first: the rest of the row is drawn knowing which parent it belongs to
            model.insert(0, LOOKUP_KEY_PREFIX + fk.column, lookup_keys[fk.column].to_numpy())
        elif not fk.is_context and frame[fk.column].isna().any():
            model[HAS_PREFIX + fk.column] = frame[fk.column].notna().to_numpy()
    for name, values in counts:
        model[name] = values.to_numpy()
    for position, (name, values) in enumerate((parent_values or {}).items()):
        # first: what kind of parent a row has is drawn before the row itself
        model.insert(position, name, values)
    if model.shape[1] == 0:
        model[CONSTANT_COLUMN] = 0  # a table of keys only: the model has nothing else to learn
    return model


def _lookup_tables(config: GeneratorConfig) -> set[str]:
    return {t.name for t in config.tables or [] if t.is_lookup}


def _lookup_key_labels(
    table: SourceTableConfig, frame: pd.DataFrame, trained: Mapping[str, _Trained], lookups: set[str]
) -> dict[str, pd.Series]:
    """Per non-context key into a lookup table, the referenced key as text (None where empty).

    A lookup table's keys are real and public and come back as they are, so the child's model
    learns the key itself as a categorical column, jointly with the child's other columns: that
    keeps child-parent patterns as well as the child's own. Key values too rare for value
    protection come out as the rare token and are left to the key matcher.
    """
    out = {}
    for fk in table.foreign_keys or []:
        if fk.is_context or fk.referenced_table not in lookups:
            continue
        parent = trained[fk.referenced_table]
        position = parent.positions(frame[fk.column])
        labels = parent.keys.astype(str).to_numpy()
        found = position.notna().to_numpy()
        values = np.full(len(frame), None, dtype=object)
        values[found] = labels[position[found].astype(np.int64).to_numpy()]
        out[fk.column] = pd.Series(values, index=frame.index, dtype=object)
    return out


def _conditioned_keys(config: GeneratorConfig, table: SourceTableConfig) -> list[str]:
    """Non-context keys whose child rows are drawn with their parent's columns: those into a
    synthesized table with a primary key (see `parents`)."""
    if table.is_lookup:
        return []
    out = []
    for fk in table.foreign_keys or []:
        parent = config.get_table(fk.referenced_table)
        if not fk.is_context and not parent.is_lookup and parent.primary_key:
            out.append(fk.column)
    return out


def _parent_links(
    config: GeneratorConfig, table: SourceTableConfig, frames: Mapping[str, pd.DataFrame]
) -> dict[str, dict[str, str]]:
    """Per conditioned key, the child model's parent columns -> the parent's columns."""
    links = {}
    conditioned = set(_conditioned_keys(config, table))
    for fk in table.foreign_keys or []:
        if fk.column not in conditioned:
            continue
        parent = config.get_table(fk.referenced_table)
        excluded = {parent.primary_key, *(k.column for k in parent.foreign_keys or [])}
        columns = parent_columns_of(frames[parent.name], excluded)
        links[fk.column] = {parent_column(fk.column, c): c for c in columns}
    return links


def _parent_values(
    config: GeneratorConfig,
    table: SourceTableConfig,
    frame: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    trained: Mapping[str, _Trained],
    links: Mapping[str, dict[str, str]],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """Per child row, the columns of the parent row each conditioned key references; and their
    value protection: the parent table's, counting parent rows (None: the parent has none), so
    that a value of one parent is as rare in the child as in the parent, however many children
    that parent has."""
    values: dict[str, np.ndarray] = {}
    subjects: dict[str, np.ndarray | None] = {}
    for fk in table.foreign_keys or []:
        if fk.column not in links:
            continue
        parent = trained[fk.referenced_table]
        rows = frames[fk.referenced_table].loc[parent.labels]
        position = parent.positions(frame[fk.column]).reset_index(drop=True)
        columns = referenced_values(fk.column, rows, position, list(links[fk.column].values()))
        protected = flat_options(config.get_table(fk.referenced_table), None, []).value_protection
        holders = position.fillna(-1).to_numpy().astype(np.int64) if protected else None
        values |= columns
        subjects |= {c: holders for c in columns}
    return values, subjects


def _reference_counts(parent_keys: pd.Series, child_keys: pd.Series) -> pd.Series:
    counts = child_keys.value_counts()
    return parent_keys.map(counts).fillna(0).astype(np.int64)


def _relabel(on_progress: ProgressCallback, prefix: str, step: str | None = None) -> ProgressCallback:
    """Events of one table's model, their messages prefixed with "<table>: " (and their step
    renamed, e.g. for key matchers, which are not a step of their own)."""

    def forward(p: EngineProgress) -> None:
        on_progress(replace(p, step=step or p.step, message=f"{prefix}: {p.message}"))

    return forward


def train_generator(
    config: GeneratorConfig,
    frames: Mapping[str, pd.DataFrame],
    workspace: str | Path,
    on_progress: ProgressCallback = no_progress,
    should_stop: StopCheck = never_stop,
    warm_start: str | Path | None = None,
) -> dict[str, TableSummary]:
    """Train every table into `workspace` (written atomically: a failure leaves no half model).

    `warm_start`: the workspace of an earlier training of this generator; its flat tables continue
    from their saved weights (sequence tables and key matchers are trained again).
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
    trained: dict[str, _Trained] = {}
    rng = np.random.default_rng(config.random_state)
    try:
        for name in relations.order:
            table = config.get_table(name)
            summaries[name], trained[name] = _train_table(
                config, table, cleaned, relations, trained, staging, rng, on_progress, should_stop, warm_start
            )
        for name in relations.order:
            _train_matchers(
                config,
                config.get_table(name),
                cleaned,
                trained,
                staging,
                config.random_state,
                on_progress,
                should_stop,
                _lookup_tables(config),
            )
        (staging / MANIFEST).write_text(
            json.dumps(
                {
                    "config": config.model_dump(mode="json"),
                    "tables": {k: asdict(summaries[k]) for k in relations.order},
                    "order": relations.order,
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
    return {k: summaries[k] for k in [t.name for t in config.tables]}


def _train_table(
    config: GeneratorConfig,
    table: SourceTableConfig,
    frames: Mapping[str, pd.DataFrame],
    relations: Relations,
    trained: dict[str, _Trained],
    staging: Path,
    rng: np.random.Generator,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
    warm_start: str | Path | None,
) -> tuple[TableSummary, _Trained]:
    name = table.name
    frame = frames[name]
    progress = _relabel(on_progress, name)
    options = flat_options(table, config.random_state, _table_constraints(config, name))
    context_fk = table.context_foreign_key
    children = relations.context_children.get(name, [])
    keys = {table.primary_key: analyze_key(frame[table.primary_key])} if table.primary_key else {}
    table_dir = table_dir_of(staging, name)
    lookups = _lookup_tables(config)
    for fk in table.foreign_keys or []:
        if not fk.is_context and fk.referenced_table in lookups:
            options.encoding_types[LOOKUP_KEY_PREFIX + fk.column] = "TABULAR_CATEGORICAL"
    parent_links = _parent_links(config, table, frames)
    for key, columns in parent_links.items():
        # a parent column is encoded as the parent's own model encodes it
        fk = next(f for f in table.foreign_keys or [] if f.column == key)
        parent_encodings = flat_options(config.get_table(fk.referenced_table), None, []).encoding_types
        for child_column, column in columns.items():
            if column in parent_encodings:
                options.encoding_types[child_column] = parent_encodings[column]
    if table.is_lookup:
        return _keep_lookup_table(config, table, frame, frames, keys, table_dir, options)
    if context_fk is None:
        if options.max_sample_size and len(frame) > options.max_sample_size:
            # capped here rather than in the flat model, so that children follow their parents
            keep = np.sort(rng.choice(len(frame), options.max_sample_size, replace=False))
            frame = frame.iloc[keep]
        options.max_sample_size = None
        parent_values, parent_subjects = _parent_values(config, table, frame, frames, trained, parent_links)
        model_frame = _model_frame(
            table,
            frame,
            _count_columns(config, table, frame, frames),
            _lookup_key_labels(table, frame, trained, lookups),
            parent_values,
        )
        previous_dir = table_dir_of(warm_start, name) if warm_start else None
        previous = (
            FlatGenerator.load(previous_dir)
            if previous_dir is not None
            and (previous_dir / "meta.json").exists()
            and not (previous_dir / "sequence.json").exists()
            else None
        )
        flat = FlatGenerator.fit(
            model_frame, options, progress, should_stop, previous=previous, column_subjects=parent_subjects
        )
        flat.save(table_dir)
        codes = flat.training_codes  # the frame's rows: it is capped above, not in the flat model
        state = _subject_state(table, frame, codes, _cards(flat), frame.index.isin(flat.holdout_index))
        report, holdout, n_rows = flat.report, flat.holdout_index, len(frame)
        encodings = {p.name: p.encoding_type for p in flat.plans}
        kind = "flat"
    else:
        parent = trained[context_fk.referenced_table]
        parent_of_row = parent.positions(frame[context_fk.column])
        frame = frame[parent_of_row.notna().to_numpy()]  # children of parents left out by a sample cap
        parent_of_row = parent_of_row.dropna().astype(np.int64)
        order = np.argsort(parent_of_row.to_numpy(), kind="stable")
        frame, parent_of = frame.iloc[order], parent_of_row.to_numpy()[order]
        parent_values, parent_subjects = _parent_values(config, table, frame, frames, trained, parent_links)
        model_frame = _model_frame(
            table,
            frame,
            _count_columns(config, table, frame, frames),
            _lookup_key_labels(table, frame, trained, lookups),
            parent_values,
        )
        mc = table.tabular_model_configuration or ModelConfiguration()
        subjects = parent.subject_of(parent_of)
        sequence = SequenceGenerator.fit(
            model_frame,
            parent_of,
            parent.ancestry,
            parent.ancestry_cards,
            parent.validation,
            options,
            window=mc.max_sequence_window,
            on_progress=progress,
            should_stop=should_stop,
            subjects=subjects,
            column_subjects=parent_subjects,
        )
        sequence.save(table_dir)
        codes = sequence.training_codes
        validation = parent.validation[parent_of]
        state = _Trained(
            keys=frame[table.primary_key]
            if table.primary_key
            else pd.Series(np.arange(len(frame)), index=frame.index),
            codes=codes,
            cards=_cards(sequence.rows),
            ancestry=np.concatenate([codes, parent.ancestry[parent_of]], axis=1),
            ancestry_cards=_cards(sequence.rows) + parent.ancestry_cards,
            validation=validation,
            labels=frame.index.to_numpy(),
            subjects=subjects,
        )
        report, holdout, n_rows = sequence.report, frame.index.to_numpy()[validation], len(frame)
        helpers = {c + s for c in sequence.relative for s in (GAP_SUFFIX, LAST_SUFFIX)}
        encodings = {p.name: p.encoding_type for p in sequence.rows.plans if p.name not in helpers}
        for column in sequence.relative:
            if column not in sequence.rising:  # rising numbers keep their numeric encoding's name
                encodings[column] = "TABULAR_DATETIME_RELATIVE"
        kind = "sequence"
    _write_roles(table_dir, table, frames[name], keys, kind, children, holdout, lookups, parent_links)
    assert report is not None
    summary = TableSummary(
        name=name,
        rows=len(frames[name]),
        columns=frames[name].shape[1],
        training_rows=n_rows - len(holdout),
        holdout_rows=len(holdout),
        epochs=report.epochs,
        seconds=report.seconds,
        stop_reason=report.stop_reason,
        encodings={k: v for k, v in encodings.items() if not k.startswith("__")},
        model_size_bytes=sum(f.stat().st_size for f in table_dir.iterdir() if f.is_file()),
    )
    return summary, state


def _write_roles(
    table_dir: Path,
    table: SourceTableConfig,
    frame: pd.DataFrame,
    keys: dict[str, Any],
    kind: str,
    children: list[str],
    holdout: np.ndarray,
    lookups: set[str],
    parent_links: Mapping[str, dict[str, str]] | None = None,
) -> None:
    """What generation needs to know of a table besides its model: columns, keys and links
    (`modelled`: a key into a lookup table, learned as a column of the table's model;
    `parent_columns`: the child model's columns of the referenced parent, see `parents`)."""
    parent_links = parent_links or {}
    context_fk = table.context_foreign_key
    roles = {
        "columns": list(frame.columns),
        "keys": keys,
        "kind": kind,
        "context": {"column": context_fk.column, "parent": context_fk.referenced_table}
        if context_fk
        else None,
        "non_context": [
            {
                "column": fk.column,
                "parent": fk.referenced_table,
                "modelled": fk.referenced_table in lookups,
                "parent_columns": parent_links.get(fk.column, {}),
            }
            for fk in table.foreign_keys or []
            if not fk.is_context
        ],
        "children": children,
        "dtypes": {c: str(t) for c, t in frame.dtypes.items()},
        "holdout_index": [int(i) if isinstance(i, np.integer | int) else str(i) for i in holdout],
    }
    (table_dir / "keys.json").write_text(json.dumps(roles))


def _subject_state(
    table: SourceTableConfig,
    frame: pd.DataFrame,
    codes: np.ndarray,
    cards: tuple[int, ...],
    validation: np.ndarray,
) -> _Trained:
    """A table without a context: its own codes are all its children's context."""
    keys = (
        frame[table.primary_key] if table.primary_key else pd.Series(np.arange(len(frame)), index=frame.index)
    )
    return _Trained(keys, codes, cards, codes, cards, validation, frame.index.to_numpy())


LOOKUP_ROWS = "rows.parquet"
LOOKUP_CODES = "codes.npy"


def _keep_lookup_table(
    config: GeneratorConfig,
    table: SourceTableConfig,
    frame: pd.DataFrame,
    frames: Mapping[str, pd.DataFrame],
    keys: dict[str, Any],
    table_dir: Path,
    options: FlatOptions,
) -> tuple[TableSummary, _Trained]:
    """A lookup table: its rows are stored as they are; only their encoding is learned (the key
    matchers of referencing tables read it), no model is trained."""
    started = time.monotonic()
    model_frame = _model_frame(table, frame, _count_columns(config, table, frame, frames))
    options.max_epochs = 0
    options.max_sample_size = None
    options.value_protection = False  # its rows come back as they are anyway; the codes must tell them apart
    encoding = FlatGenerator.fit(model_frame, options)
    encoding.save(table_dir)
    codes = encoding.training_codes
    frame.reset_index(drop=True).to_parquet(table_dir / LOOKUP_ROWS, index=False)
    np.save(table_dir / LOOKUP_CODES, codes)
    _write_roles(table_dir, table, frame, keys, "lookup", [], np.array([]), set())
    state = _subject_state(table, frame, codes, _cards(encoding), np.zeros(len(frame), dtype=bool))
    summary = TableSummary(
        name=table.name,
        rows=len(frame),
        columns=frame.shape[1],
        training_rows=len(frame),
        holdout_rows=0,
        epochs=0.0,
        seconds=time.monotonic() - started,
        stop_reason="lookup_table",
        encodings={p.name: p.encoding_type for p in encoding.plans if not p.name.startswith("__")},
        model_size_bytes=sum(f.stat().st_size for f in table_dir.iterdir() if f.is_file()),
    )
    return summary, state


def _train_matchers(
    config: GeneratorConfig,
    table: SourceTableConfig,
    frames: Mapping[str, pd.DataFrame],
    trained: dict[str, _Trained],
    staging: Path,
    random_state: int | None,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
    lookups: set[str],
) -> None:
    state = trained[table.name]
    conditioned = _conditioned_keys(config, table)
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
            random_state=random_state,
            parents_kept=fk.referenced_table in lookups,
            on_progress=_relabel(
                on_progress, f"{table.name}: key matcher for {fk.column!r}", "TRAIN_KEY_MATCHER"
            ),
            should_stop=should_stop,
        )
        matcher.save(matcher_dir(staging, table.name, fk.column))


class TrainedGenerator:
    """A generator loaded from its workspace, ready to draw synthetic tables."""

    def __init__(self, workspace: str | Path):
        self.workspace = Path(workspace)
        manifest = json.loads((self.workspace / MANIFEST).read_text())
        self.config = GeneratorConfig.model_validate(manifest["config"])
        self.summaries = {k: TableSummary(**v) for k, v in manifest["tables"].items()}
        self.order: list[str] = manifest.get("order") or list(self.summaries)
        self._models: dict[str, FlatGenerator | SequenceGenerator] = {}
        self._roles: dict[str, dict[str, Any]] = {}

    def _check_name(self, name: str) -> None:
        if name not in self.summaries:
            raise EngineInputError(
                f"the generator has no table {name!r}; its tables are {list(self.summaries)}"
            )

    def roles(self, name: str) -> dict[str, Any]:
        self._check_name(name)
        if name not in self._roles:
            roles = json.loads((table_dir_of(self.workspace, name) / "keys.json").read_text())
            # workspaces of single-table engine versions hold columns and keys only
            for key, default in (("kind", "flat"), ("context", None), ("non_context", []), ("children", [])):
                roles.setdefault(key, default)
            self._roles[name] = roles
        return self._roles[name]

    def model(self, name: str) -> FlatGenerator | SequenceGenerator:
        self._check_name(name)
        if name not in self._models:
            directory = table_dir_of(self.workspace, name)
            if self.roles(name)["kind"] == "sequence":
                self._models[name] = SequenceGenerator.load(directory)
            else:
                self._models[name] = FlatGenerator.load(directory)
        return self._models[name]

    def check_table(self, name: str) -> None:
        """Load everything generation reads of a table (see `workspace.check_workspace`)."""
        roles = self.roles(name)
        if roles["kind"] not in ("flat", "sequence", "lookup") or not isinstance(roles["columns"], list):
            raise EngineInputError(f"table {name!r}: its key roles are not those of a trained table")
        self.model(name)  # weights and column plans
        if roles["kind"] == "lookup":
            directory = table_dir_of(self.workspace, name)
            rows = pd.read_parquet(directory / LOOKUP_ROWS)
            codes = np.load(directory / LOOKUP_CODES, allow_pickle=False)
            if len(rows) != len(codes) or codes.shape[1] != len(_cards(self.table(name))):
                raise EngineInputError(f"lookup table {name!r}: its rows and codes do not match")
        for link in roles["non_context"]:
            directory = matcher_dir(self.workspace, name, link["column"])
            if directory.exists():
                KeyMatcher.load(directory)

    def table(self, name: str) -> FlatGenerator:
        """The row model of a table (for a sequence table: the model of its rows)."""
        model = self.model(name)
        return model.rows if isinstance(model, SequenceGenerator) else model

    def holdout_index(self, name: str) -> np.ndarray:
        """Index labels of the rows held out for validation (a sequence table: its held-out parents' rows)."""
        roles = self.roles(name)
        if "holdout_index" in roles:
            return np.asarray(roles["holdout_index"])
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
        states: dict[str, _Trained] = {}
        claimable = self._claimable(by_name)
        for name in self.order:
            tc = by_name.get(name) or SyntheticTableConfiguration()
            out[name], states[name] = self._generate_table(
                name, tc, is_probe, rng, out, states, on_progress, claimable
            )
        for name in self.order:
            self._assign_foreign_keys(name, by_name.get(name), out, states, rng)
        return {name: self._finish(name, out[name]) for name in self.summaries}

    def _seed(
        self, name: str, tc: SyntheticTableConfiguration
    ) -> tuple[pd.DataFrame | None, dict[str, pd.Series]]:
        """The seed's model columns, and its key columns apart."""
        seed = tc.seed_frame()
        if seed is None:
            return None, {}
        if not isinstance(seed, pd.DataFrame):
            seed = pd.DataFrame(seed)
        roles = self.roles(name)
        unknown = [c for c in seed.columns if c not in roles["columns"]]
        if unknown:
            raise EngineInputError(
                f"table {name!r}: seed columns {unknown} are not columns of the table; its columns are {roles['columns']}"
            )
        seed = seed.reset_index(drop=True)
        key_columns = [*roles["keys"], *(r["column"] for r in roles["non_context"])]
        if roles["context"]:
            key_columns.append(roles["context"]["column"])
        keys = {k: seed[k] for k in key_columns if k in seed.columns}
        model_seed = seed.drop(columns=list(keys))
        for link in roles["non_context"]:
            given = keys.get(link["column"])
            if link.get("modelled") and given is not None and given.notna().all():
                # a seeded key into a lookup table conditions the rest of its row, as any seeded value
                model_seed[LOOKUP_KEY_PREFIX + link["column"]] = given.astype(str).to_numpy()
        return model_seed, keys

    def _generate_table(
        self,
        name: str,
        tc: SyntheticTableConfiguration,
        is_probe: bool,
        rng: np.random.Generator,
        out: dict[str, pd.DataFrame],
        states: dict[str, _Trained],
        on_progress: ProgressCallback,
        claimable: dict[str, np.ndarray | None],
    ) -> tuple[pd.DataFrame, _Trained]:
        roles = self.roles(name)
        model = self.model(name)
        seed, seed_keys = self._seed(name, tc)
        temperature = tc.sampling_temperature if tc.sampling_temperature is not None else 1.0
        top_p = tc.sampling_top_p if tc.sampling_top_p is not None else 1.0
        progress = _relabel(on_progress, name) if len(self.order) > 1 else on_progress
        if roles["kind"] == "lookup":  # kept as it is, real keys included
            frame, codes = self._lookup_rows(name, tc, seed)
            table = self.config.get_table(name)
            return frame, _subject_state(table, frame, codes, _cards(model), np.zeros(len(frame), dtype=bool))
        if isinstance(model, FlatGenerator):
            summary = self.summaries[name]
            size = tc.effective_sample_size(is_subject=True, training_rows=summary.rows, is_probe=is_probe)
            request = GenerationRequest(
                size=size,
                seed=seed,
                sampling_temperature=temperature,
                sampling_top_p=top_p,
                rebalancing=tc.rebalancing.model_dump() if tc.rebalancing else None,
                imputation=list(tc.imputation.columns) if tc.imputation else [],
                fairness=tc.fairness.model_dump() if tc.fairness else None,
                random_state=int(rng.integers(2**31)),
            )
            frame, codes = model.sample_with_codes(request, progress)
            links = self._parent_links(name, frame, out, states, seed_keys, claimable)
            if links:
                carried = [
                    c
                    for c in frame.columns
                    if c.startswith(HAS_PREFIX)
                    or (seed is not None and c in seed.columns)
                    or (request.rebalancing and c == request.rebalancing.get("column"))
                ]
                frame, codes, chosen = draw_with_parents(model, request, frame, codes, links, carried, rng)
                self._keep_parents(links, chosen, states, seed_keys)
            ancestry, ancestry_cards = codes, _cards(model)
            cards = _cards(model)
        else:
            for feature in ("rebalancing", "imputation", "fairness"):
                if getattr(tc, feature) is not None:
                    raise EngineInputError(
                        f"table {name!r}: {feature} applies to subject tables only, and {name!r} is a sequence "
                        "table (it has a context foreign key); configure it on the subject table"
                    )
            if tc.sample_size is not None:
                raise EngineInputError(
                    f"table {name!r}: sample_size applies to subject tables only; the size of a sequence table "
                    "follows its parent table"
                )
            context = roles["context"]
            parent_frame, parent = out[context["parent"]], states[context["parent"]]
            lengths = parent_frame[SEQLEN_PREFIX + name].fillna(0).to_numpy().astype(np.int64).clip(min=0)
            seed_parent = None
            if seed is not None:
                fk = context["column"]
                if fk not in seed_keys:
                    raise EngineInputError(
                        f"table {name!r}: seed rows need the context key column {fk!r} to say which "
                        f"{context['parent']!r} row they belong to"
                    )
                mapped = parent.positions(seed_keys[fk])
                if mapped.isna().any():
                    missing = seed_keys[fk][mapped.isna()].drop_duplicates().head(5).tolist()
                    raise EngineInputError(
                        f"table {name!r}: seed rows reference {context['parent']!r} keys {missing} that are not in "
                        f"the seed of {context['parent']!r}; seed the parent rows too, with the same key values"
                    )
                seed_parent = mapped.to_numpy().astype(np.int64)
                order = np.argsort(seed_parent, kind="stable")
                seed, seed_parent = seed.iloc[order].reset_index(drop=True), seed_parent[order]
                seed_keys = {k: v.iloc[order].reset_index(drop=True) for k, v in seed_keys.items()}
            frame, parent_of, codes = model.sample(
                parent.ancestry,
                lengths,
                seed=seed,
                seed_parent=seed_parent,
                temperature=temperature,
                top_p=top_p,
                random_state=int(rng.integers(2**31)),
                on_progress=progress,
            )
            frame[context["column"]] = parent.keys.to_numpy()[parent_of]
            ancestry = np.concatenate([codes, parent.ancestry[parent_of]], axis=1)
            ancestry_cards = _cards(model.rows) + parent.ancestry_cards
            cards = _cards(model.rows)
            if seed is not None and seed_parent is not None:
                seeded_rows = seed_rows(parent_of, seed_parent)
                seed_keys = {
                    k: _spread(v, seeded_rows, len(frame))
                    for k, v in seed_keys.items()
                    if k != context["column"]
                }
            links = self._parent_links(name, frame, out, states, seed_keys, claimable)
            if links:
                # no second draw for sequences: a row keeps what it drew, matched to its parent
                self._keep_parents(links, assign_parents(frame, links, rng), states, seed_keys)
        keys_out = None
        for key, info in roles["keys"].items():
            given = seed_keys.get(key)
            values = _unique_keys(info, len(frame), given, rng)
            frame.insert(0, key, values)
            keys_out = values
        for column, values in seed_keys.items():
            if column not in roles["keys"] and (not roles["context"] or column != roles["context"]["column"]):
                frame[column] = (
                    values.reindex(range(len(frame))) if len(values) != len(frame) else values.to_numpy()
                )
        state = _Trained(
            keys=keys_out if keys_out is not None else pd.Series(np.arange(len(frame))),
            codes=codes,
            cards=cards,
            ancestry=ancestry,
            ancestry_cards=ancestry_cards,
            validation=np.zeros(len(frame), dtype=bool),
            labels=np.arange(len(frame)),
        )
        return frame, state

    def _parent_links(
        self,
        name: str,
        frame: pd.DataFrame,
        out: Mapping[str, pd.DataFrame],
        states: Mapping[str, _Trained],
        seed_keys: Mapping[str, pd.Series],
        claimable: dict[str, np.ndarray | None],
    ) -> list[ParentLink]:
        """The keys of a table whose rows are drawn with their generated parent's columns."""
        links = []
        for link in self.roles(name)["non_context"]:
            if not link.get("parent_columns"):
                continue
            column, parent = link["column"], link["parent"]
            has = HAS_PREFIX + column
            linked = frame[has].astype(bool).to_numpy() if has in frame else np.ones(len(frame), dtype=bool)
            if linked.any() and len(states[parent].keys) == 0:
                raise EngineInputError(
                    f"table {name!r}: its rows reference {parent!r}, but no {parent!r} rows were "
                    "generated; give that table a size of at least 1"
                )
            links.append(
                ParentLink(
                    key=column,
                    parent_table=parent,
                    columns=link["parent_columns"],
                    parent=out[parent],
                    popularity=popularity_of(out[parent], f"{DEGREE_PREFIX}{name}.{column}"),
                    linked=linked,
                    given=seeded_positions(seed_keys.get(column), states[parent].keys, len(frame)),
                    claimed=self._claimed_rows(parent, len(out[parent]), claimable),
                    min_demand=MIN_DEMAND_PROTECTED
                    if self.table(parent).options.value_protection
                    else MIN_DEMAND,
                )
            )
        return links

    def _claimable(
        self, by_name: Mapping[str, SyntheticTableConfiguration | None]
    ) -> dict[str, np.ndarray | None]:
        """Parent tables whose generated rows children may claim (see `parents`): flat tables
        without context children and without a seed; the masks are made when first needed."""
        out: dict[str, np.ndarray | None] = {}
        for name in self.order:
            roles = self.roles(name)
            tc = by_name.get(name)
            seeded = tc is not None and tc.seed_frame() is not None
            if roles["kind"] != "flat" or roles["children"] or seeded:
                out[name] = None
        return out

    @staticmethod
    def _claimed_rows(parent: str, n: int, claimable: dict[str, np.ndarray | None]) -> np.ndarray | None:
        if parent not in claimable:
            claimable[parent] = np.zeros(n, dtype=bool)
        return claimable[parent]

    def _keep_parents(
        self,
        links: list[ParentLink],
        chosen: Mapping[str, np.ndarray],
        states: Mapping[str, _Trained],
        seed_keys: dict[str, pd.Series],
    ) -> None:
        """The keys of the parents the rows got, as if seeded (`_assign_foreign_keys` keeps them)."""
        for link in links:
            keys = states[link.parent_table].keys.astype(object)
            seed_keys[link.key] = pd.Series(taken(keys, chosen[link.key]), dtype=object)
            self._recode_claimed(link, states[link.parent_table])

    def _recode_claimed(self, link: ParentLink, state: _Trained) -> None:
        """Claimed parent rows were rewritten: their codes follow, for later tables that read them."""
        if link.claimed is None or not link.claimed.any():
            return
        rows = np.flatnonzero(link.claimed)
        model = self.table(link.parent_table)
        state.codes[rows] = model.encode(link.parent.iloc[rows])

    def _lookup_rows(
        self, name: str, tc: SyntheticTableConfiguration, seed: pd.DataFrame | None
    ) -> tuple[pd.DataFrame, np.ndarray]:
        directory = table_dir_of(self.workspace, name)
        frame = pd.read_parquet(directory / LOOKUP_ROWS)
        if seed is not None or (tc.sample_size is not None and tc.sample_size != len(frame)):
            raise EngineInputError(
                f"table {name!r} is a lookup table, kept as it is ({len(frame)} rows): it takes no seed "
                "and no sample_size other than its own row count"
            )
        return frame, np.load(directory / LOOKUP_CODES, allow_pickle=False)

    def _assign_foreign_keys(
        self,
        name: str,
        tc: SyntheticTableConfiguration | None,
        out: dict[str, pd.DataFrame],
        states: dict[str, _Trained],
        rng: np.random.Generator,
    ) -> None:
        roles = self.roles(name)
        frame = out[name]
        temperature = (
            tc.sampling_temperature if tc is not None and tc.sampling_temperature is not None else 1.0
        )
        for link in roles["non_context"]:
            column, parent_name = link["column"], link["parent"]
            parent = states[parent_name]
            present = (
                frame[HAS_PREFIX + column].astype(bool).to_numpy()
                if HAS_PREFIX + column in frame
                else np.ones(len(frame), dtype=bool)
            )
            values = pd.Series([None] * len(frame), dtype=object)
            if link.get("modelled") and LOOKUP_KEY_PREFIX + column in frame:
                # the model drew the key itself; only its rare tokens still need a parent
                drawn = frame[LOOKUP_KEY_PREFIX + column]
                position = parent.positions(drawn, as_text=True)
                found = position.notna().to_numpy()
                values[found] = parent.keys.to_numpy()[position[found].astype(np.int64).to_numpy()]
                present = drawn.notna().to_numpy() & ~found
            given = frame[column] if column in frame else None
            keep_given = np.zeros(len(frame), dtype=bool)
            if given is not None:
                keep_given = given.isin(parent.keys).to_numpy()
                present = present & ~keep_given
            directory = matcher_dir(self.workspace, name, column)
            if present.any():
                if len(parent.keys) == 0:
                    raise EngineInputError(
                        f"table {name!r}: its rows reference {parent_name!r}, but no {parent_name!r} rows were "
                        "generated; give that table a size of at least 1"
                    )
                generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
                if directory.exists():
                    chosen = KeyMatcher.load(directory).assign(
                        states[name].codes[present], parent.codes, generator, temperature
                    )
                else:  # the training data had no linked rows: any parent fits
                    chosen = rng.integers(0, len(parent.keys), int(present.sum()))
                values[present] = parent.keys.to_numpy()[chosen]
            if given is not None:
                values[keep_given] = given[keep_given].to_numpy()
            frame[column] = values

    def _finish(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Source column order and dtypes; helper columns dropped."""
        roles = self.roles(name)
        helpers = (SEQLEN_PREFIX, HAS_PREFIX, DEGREE_PREFIX, LOOKUP_KEY_PREFIX, CONSTANT_COLUMN)
        frame = frame.drop(columns=[c for c in frame.columns if str(c).startswith(helpers)])
        for column in [
            *(r["column"] for r in roles["non_context"]),
            *([roles["context"]["column"]] if roles["context"] else []),
        ]:
            dtype = roles.get("dtypes", {}).get(column)
            if dtype:
                frame[column] = _cast(frame[column], dtype)
        return frame[roles["columns"]].reset_index(drop=True)


def _unique_keys(
    info: dict[str, Any], n: int, given: pd.Series | None, rng: np.random.Generator
) -> pd.Series:
    """n unique primary keys; seeded rows keep theirs, generated ones never collide with them."""
    if given is None or given.notna().sum() == 0:
        return generate_keys(info, n, rng)
    given = given.reindex(range(n)) if len(given) != n else given.reset_index(drop=True)
    taken = set(given.dropna().tolist())
    if len(taken) != int(given.notna().sum()):
        raise EngineInputError("seeded primary key values must be unique")
    need = int(given.isna().sum())
    candidates = generate_keys(info, need + len(taken), rng)
    fresh = candidates[~candidates.isin(taken)].head(need).to_numpy()
    values = given.astype(object).copy()
    values[given.isna()] = fresh
    return _cast(values, info["dtype"])


def _spread(values: pd.Series, rows: np.ndarray, n: int) -> pd.Series:
    """Seed key values placed at their generated rows (empty elsewhere)."""
    out = pd.Series([None] * n, dtype=object)
    out.iloc[rows] = values.to_numpy()
    return out


def _cast(values: pd.Series, dtype: str) -> pd.Series:
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        if values.isna().any() and dtype.startswith("int"):
            try:
                return values.astype("Int64")
            except (TypeError, ValueError):
                pass
        return values
