"""Metrics and HTML reports for trained generators and synthetic datasets (calls synth_dagster.qa).

Everything is computed into a local folder first; the worker uploads it and publishes it with the
job's status, so a failed or canceled job never leaves a half-written report behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from synth_dagster.domain import (
    GeneratorConfig,
    ModelMetrics,
    RelationAccuracy,
    SourceForeignKeyConfig,
    SourceTableConfig,
    SyntheticDatasetConfig,
)
from synth_dagster.engine import TrainedGenerator
from synth_dagster.sdk.frames import parquet_bytes, read_frame
from synth_dagster.sdk.jobs import table_file
from synth_dagster.sdk.store import Store

if TYPE_CHECKING:
    from synth_dagster.qa import Evaluation

log = logging.getLogger(__name__)
MAX_QA_SYNTHETIC_ROWS = 20_000
MAX_REFERENCE_ROWS = 50_000
REFERENCE_KINDS = ("training", "holdout")


def _no_check() -> None:
    return None


def split_training(frame: pd.DataFrame, holdout_index) -> tuple[pd.DataFrame, pd.DataFrame]:
    holdout_mask = frame.index.isin(holdout_index)
    return frame[~holdout_mask], frame[holdout_mask]


@dataclass(frozen=True)
class _Rows:
    """One table as the metrics see it: synthetic, training and holdout rows (the holdout may be empty)."""

    synthetic: pd.DataFrame
    training: pd.DataFrame
    holdout: pd.DataFrame

    @property
    def real(self) -> pd.DataFrame:
        return pd.concat([self.training, self.holdout])


def _tables(config: GeneratorConfig | None) -> dict[str, SourceTableConfig]:
    return {} if config is None else {t.name: t for t in config.tables or []}


def _has_foreign_keys(tables: dict[str, SourceTableConfig]) -> bool:
    return any(t.foreign_keys for t in tables.values())


def _without_keys(frame: pd.DataFrame, table: SourceTableConfig, keep: str | None = None) -> pd.DataFrame:
    """Key values are generated, not learned: they are no column to assess (except the join key `keep`)."""
    return frame.drop(columns=[c for c in table.key_columns if c != keep and c in frame.columns])


def _dump(metrics: ModelMetrics) -> dict:
    # why: tables without relations store exactly the dict they stored before `relations` existed
    return metrics.model_dump(mode="json", exclude={"relations"} if metrics.relations is None else None)


def _parent_rows(
    fk: SourceForeignKeyConfig, rows: dict[str, _Rows], tables: dict[str, SourceTableConfig]
) -> tuple[str, _Rows] | None:
    """(primary key, rows without other keys) of the table `fk` references; None without its rows."""
    parent = tables.get(fk.referenced_table)
    if parent is None or parent.primary_key is None or fk.referenced_table not in rows:
        log.info("no rows of table %s; foreign key %s is not assessed", fk.referenced_table, fk.column)
        return None
    pk, prow = parent.primary_key, rows[fk.referenced_table]
    return pk, _Rows(*(_without_keys(df, parent, pk) for df in (prow.synthetic, prow.training, prow.holdout)))


def _text_columns(table: SourceTableConfig | None) -> list[str]:
    """The table's LANGUAGE_TEXT columns: the reports add text figures and sample texts for them."""
    if table is None:
        return []
    return [c.name for c in table.columns or [] if c.model_encoding_type.value == "LANGUAGE_TEXT"]


def _sequence_evaluation(
    own: _Rows, key: str, parent: tuple[str, _Rows] | None, random_state: int, texts: list[str]
) -> Evaluation | None:
    """A sequence table grouped by its context key, with the parent's columns as context."""
    from synth_dagster import qa

    syn, trn, hol = own.synthetic, own.training, own.holdout
    if parent is None:  # e.g. the parent's reference rows are missing: still sequences, without context
        return qa.assess(
            syn, trn, hol if len(hol) else None, group_key=key, random_state=random_state, text_columns=texts
        )
    pk, prow = parent
    # Rows without a parent row were left out of training (a sequence needs its parent).
    known = prow.real[pk]
    trn, hol = trn[trn[key].isin(known)], hol[hol[key].isin(known)]
    if len(trn) == 0:
        return None
    with_holdout = len(hol) > 0 and len(prow.holdout) > 0
    context = qa.Context(
        synthetic=prow.synthetic,
        training=prow.training,
        holdout=prow.holdout if with_holdout else None,
        primary_key=pk,
    )
    return qa.assess(
        syn,
        trn,
        hol if with_holdout else None,
        context=context,
        context_key=key,
        random_state=random_state,
        text_columns=texts,
    )


def _assess_table(
    name: str, rows: dict[str, _Rows], tables: dict[str, SourceTableConfig], random_state: int
) -> tuple[Evaluation | None, list[RelationAccuracy]]:
    """A table's evaluation (None when it has nothing but keys) and its non-context relations.

    A table with a context foreign key is a sequence table, assessed with its parent as context; each
    non-context foreign key adds the accuracy of the child columns against the referenced parent's.
    """
    from synth_dagster import qa

    own, table = rows[name], tables.get(name)
    if table is not None and table.is_lookup:
        return None, []  # kept as it is: nothing synthetic to assess
    texts = _text_columns(table)
    if table is None or not table.key_columns:
        holdout = own.holdout if len(own.holdout) else None
        return qa.assess(
            own.synthetic, own.training, holdout, random_state=random_state, text_columns=texts
        ), []
    if len(own.synthetic) == 0:
        log.warning("table %s: the synthetic sample has no rows; no metrics for it", name)
        return None, []

    def keeping(key: str | None) -> _Rows:
        return _Rows(*(_without_keys(df, table, key) for df in (own.synthetic, own.training, own.holdout)))

    fk = table.context_foreign_key
    evaluation = None
    if any(c not in table.key_columns for c in own.training.columns):
        if fk is None:
            flat = keeping(None)
            holdout = flat.holdout if len(flat.holdout) else None
            evaluation = qa.assess(
                flat.synthetic, flat.training, holdout, random_state=random_state, text_columns=texts
            )
        else:
            evaluation = _sequence_evaluation(
                keeping(fk.column), fk.column, _parent_rows(fk, rows, tables), random_state, texts
            )

    relations: list[RelationAccuracy] = []
    for rel in table.foreign_keys or []:
        parent = None if rel.is_context else _parent_rows(rel, rows, tables)
        if parent is None:
            continue
        pk, prow = parent
        child = keeping(rel.column)
        relations.append(
            qa.relation_accuracy(
                child.synthetic,
                prow.synthetic,
                child.training,
                # a holdout child may reference a training parent: join both splits with the whole table
                prow.real,
                child.holdout if len(child.holdout) else None,
                None,
                foreign_key=rel.column,
                primary_key=pk,
                referenced_table=rel.referenced_table,
                random_state=random_state,
            )
        )
    return evaluation, relations


def _probe_size(train_rows: pd.DataFrame, holdout_rows: pd.DataFrame) -> int:
    return max(min(len(holdout_rows) or len(train_rows) + len(holdout_rows), MAX_QA_SYNTHETIC_ROWS), 1)


def model_quality(
    trained: TrainedGenerator,
    frames: dict[str, pd.DataFrame],
    report_tables: set[str],
    random_state: int | None,
    out_dir: Path,
    check: Callable[[], None] = _no_check,
) -> dict[str, dict]:
    """Per table: metrics of a synthetic sample against training and holdout rows.

    The model report of each table in `report_tables` is written to `out_dir/<table>-model-report.html`.
    `check` is called between tables (it raises to cancel). A generator with foreign keys is probed
    once for the whole dataset (children follow their subject tables), so relations hold in the sample.
    """
    tables = _tables(trained.config)
    splits = {name: split_training(frame, trained.holdout_index(name)) for name, frame in frames.items()}
    rows: dict[str, _Rows] = {}
    if _has_foreign_keys(tables):
        check()
        probe = SyntheticDatasetConfig.model_validate(
            {
                "random_state": random_state,
                "tables": [
                    {"name": name, "configuration": {"sample_size": _probe_size(*splits[name])}}
                    for name in frames
                    if name not in tables or (tables[name].is_subject and not tables[name].is_lookup)
                ],
            }
        )
        synthetic = trained.generate(probe)
        rows = {name: _Rows(synthetic[name], *splits[name]) for name in frames}

    results: dict[str, dict] = {}
    for name in frames:
        check()
        if name not in rows:  # no foreign keys: one probe per table, as always
            probe = SyntheticDatasetConfig.model_validate(
                {
                    "random_state": random_state,
                    "tables": [{"name": name, "configuration": {"sample_size": _probe_size(*splits[name])}}],
                }
            )
            rows[name] = _Rows(trained.generate(probe)[name], *splits[name])
        evaluation, relations = _assess_table(name, rows, tables, random_state or 0)
        summary = trained.summaries.get(name)
        privacy = (summary.epsilon, summary.delta) if summary and summary.epsilon is not None else None
        results[name] = _result(
            evaluation,
            relations,
            name,
            "model",
            out_dir,
            check,
            name in report_tables,
            privacy,
            titles=_titles("model", trained.config, name),
        )
    return results


def _result(
    evaluation: Evaluation | None,
    relations: list[RelationAccuracy],
    name: str,
    kind: str,
    out_dir: Path,
    check: Callable[[], None],
    with_report: bool,
    privacy: tuple[float, float] | None = None,
    *,
    titles: tuple[str, str | None],
) -> dict:
    """The stored figures of one table, and its report (written when wanted and there is an evaluation)."""
    from synth_dagster import qa

    if evaluation is None:
        metrics = ModelMetrics(relations=relations) if relations else None
        return {"metrics": _dump(metrics) if metrics is not None else None, "report": None}
    if relations:
        evaluation.metrics.relations = relations
    report = None
    if with_report:
        check()
        out_dir.mkdir(parents=True, exist_ok=True)
        report = f"{table_file(name)}-{kind}-report.html"
        title, subtitle = titles
        if kind == "model":
            qa.model_report(
                evaluation, out_dir / report, title=title, subtitle=subtitle, differential_privacy=privacy
            )
        else:
            qa.data_report(evaluation, out_dir / report, title=title, subtitle=subtitle)
    return {"metrics": _dump(evaluation.metrics), "report": report}


def _titles(kind: str, config: GeneratorConfig | None, table: str) -> tuple[str, str | None]:
    """A report's title names the generator (what the user named and looks for), its subtitle the
    table when the generator has several; without the generator's config only the table is known."""
    heading = f"{kind.capitalize()} report"
    if config is None or not config.name:
        return f"{heading}: {table}", None
    several = len(config.tables or []) > 1
    return f"{heading}: {config.name}", f"table {table}" if several else None


def _parents_first(names: list[str], tables: dict[str, SourceTableConfig]) -> list[str]:
    """`names` with every context parent before its children (the order keys are sampled in)."""
    ordered: list[str] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        fk = tables[name].context_foreign_key if name in tables else None
        parent = fk.referenced_table if fk is not None else None
        if parent in names and parent not in ordered and parent not in path:
            visit(parent, (*path, name))
        if name not in ordered:
            ordered.append(name)

    for name in names:
        visit(name)
    return ordered


def _sample_groups(rows: pd.DataFrame, key: str, limit: int) -> pd.DataFrame:
    """Whole sequences (rows sharing `key`), in random order, while they fit in `limit` rows."""
    if len(rows) <= limit:
        return rows
    sizes = rows.groupby(key, sort=False, dropna=False).size().sample(frac=1.0, random_state=0)
    chosen = sizes.index[sizes.cumsum().to_numpy() <= limit]
    return rows[rows[key].isin(chosen)]


def reference_rows(trained: TrainedGenerator, frames: dict[str, pd.DataFrame], out_dir: Path) -> None:
    """A capped sample of training and holdout rows, kept for the data reports of synthetic datasets.

    They are stored in the private `qa/` folder of a generator, which exports never include. A table
    with a context foreign key keeps the rows of the parents that were kept, as whole sequences.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = _tables(trained.config)
    kept: dict[tuple[str, str], pd.DataFrame] = {}
    for name in _parents_first(list(frames), tables):
        splits = split_training(frames[name], trained.holdout_index(name))
        fk = tables[name].context_foreign_key if name in tables else None
        parent = tables.get(fk.referenced_table) if fk is not None else None
        for kind, rows in zip(REFERENCE_KINDS, splits, strict=True):
            if fk is not None and parent is not None and (fk.referenced_table, kind) in kept:
                parents = kept[(fk.referenced_table, kind)][parent.primary_key]
                rows = _sample_groups(rows[rows[fk.column].isin(parents)], fk.column, MAX_REFERENCE_ROWS)
            elif len(rows):
                rows = rows.sample(min(len(rows), MAX_REFERENCE_ROWS), random_state=0)
            kept[(name, kind)] = rows
            (out_dir / f"{table_file(name)}-{kind}.parquet").write_bytes(
                parquet_bytes(rows, f"table {name!r}")
            )


def load_reference_rows(store: Store, qa_dir: str, name: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    try:
        training, holdout = (
            read_frame(store, f"{qa_dir}/{table_file(name)}-{kind}.parquet") for kind in REFERENCE_KINDS
        )
    except FileNotFoundError:
        return None
    return training, holdout


def data_quality(
    store: Store,
    qa_dir: str | None,
    frames: dict[str, pd.DataFrame],
    out_dir: Path,
    check: Callable[[], None] = _no_check,
    *,
    config: GeneratorConfig | None = None,
    tables: Collection[str] | None = None,
) -> dict[str, dict]:
    """Per table: a synthetic dataset's metrics against the generator's reference rows, and the data report.

    `frames` is the whole synthetic dataset; only `tables` (default: all) are assessed, the others
    serve as parents. `config`, the generator's, tells the keys: without it every table is flat.
    Tables without reference rows (e.g. of an imported generator) get neither.
    """
    configs = _tables(config)
    assessed = [n for n in frames if tables is None or n in tables]
    parents = {fk.referenced_table for n in assessed if n in configs for fk in configs[n].foreign_keys or []}
    rows: dict[str, _Rows] = {}
    for name in frames:
        needed = name in assessed or name in parents
        reference = load_reference_rows(store, qa_dir, name) if qa_dir and needed else None
        if reference is not None:
            rows[name] = _Rows(frames[name], *reference)
    results: dict[str, dict] = {}
    for name in assessed:
        check()
        if name not in rows:
            log.info("no reference rows for table %s (imported generator?); skipping its data report", name)
            continue
        evaluation, relations = _assess_table(name, rows, configs, 0)
        titles = _titles("data", config, name)
        result = _result(evaluation, relations, name, "data", out_dir, check, True, titles=titles)
        if result["metrics"] is not None:
            results[name] = result
    return results


def metrics_or_none(data: dict | None) -> ModelMetrics | None:
    return ModelMetrics.model_validate(data) if data else None
