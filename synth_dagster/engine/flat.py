"""A generator for one flat table: analyze -> encode -> train -> generate.

`FlatGenerator.fit(frame, options)` learns a table; `.sample(...)` draws synthetic rows, optionally
conditioned on seed values, with rebalancing, imputation, fairness and constraints; `.save(dir)` and
`FlatGenerator.load(dir)` persist it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.analysis import ColumnPlan, plan_column, restore, to_model_space
from synth_dagster.engine.constraints import TableTransforms
from synth_dagster.engine.encoding import encoder_for
from synth_dagster.engine.encoding.base import SUBJECTS
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.model import ModelShape, TabularARGN
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress
from synth_dagster.engine.sampling import SamplingControls, sample_codes
from synth_dagster.engine.training import TrainingReport, TrainingSettings, train_model

VALIDATION_SHARE = 0.1
META_FILE = "meta.json"
WEIGHTS_FILE = "model.pt"


@dataclass
class FlatOptions:
    """Engine-level settings for one table (mapped from ModelConfiguration by the sdk)."""

    model_size: str = "medium"
    max_sample_size: int | None = None
    batch_size: int | None = None
    gradient_accumulation_steps: int | None = None
    max_epochs: float = 100.0
    max_training_time: float | None = None
    enable_flexible_generation: bool = True
    value_protection: bool = True
    rare_category_replacement_method: str = "CONSTANT"
    random_state: int | None = None
    encoding_types: dict[str, str] = field(default_factory=dict)
    constraints: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GenerationRequest:
    """What to draw: size or seed, sampling knobs and the flexible-generation features."""

    size: int | None = None
    seed: pd.DataFrame | None = None
    sampling_temperature: float = 1.0
    sampling_top_p: float = 1.0
    rebalancing: Mapping[str, Any] | None = None  # {"column": ..., "probabilities": {...}}
    imputation: Sequence[str] = ()
    fairness: Mapping[str, Any] | None = None  # {"target_column": ..., "sensitive_columns": [...]}
    random_state: int | None = None


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise EngineInputError(f"training data must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise EngineInputError("the table has no columns; give it at least one column to learn")
    if len(frame) == 0:
        raise EngineInputError(
            "the table is empty (0 rows); a generator needs at least one row to learn from"
        )
    dup = frame.columns[frame.columns.duplicated()].tolist()
    if dup:
        raise EngineInputError(f"column names must be unique; duplicated: {dup}")


class FlatGenerator:
    def __init__(
        self,
        plans: list[ColumnPlan],
        model: TabularARGN,
        allowed: list[np.ndarray],
        transforms: TableTransforms,
        options: FlatOptions,
        source_columns: list[str],
        report: TrainingReport | None = None,
        holdout_index: np.ndarray | None = None,
        n_training_rows: int = 1,
    ):
        self.n_training_rows = n_training_rows
        self.plans = plans
        self.model = model
        self.allowed = allowed
        self.transforms = transforms
        self.options = options
        self.source_columns = source_columns
        self.report = report
        self.holdout_index = holdout_index if holdout_index is not None else np.array([], dtype=np.int64)
        self._sub_ranges = self._compute_sub_ranges()
        self.training_codes = np.zeros((0, len(model.shape.cardinalities)), dtype=np.int64)

    # ---------------------------------------------------------------- training
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        options: FlatOptions | None = None,
        on_progress: ProgressCallback = no_progress,
        should_stop: StopCheck = never_stop,
        previous: FlatGenerator | None = None,
        validation: np.ndarray | None = None,
        column_subjects: Mapping[str, np.ndarray | None] | None = None,
    ) -> FlatGenerator:
        """Learn `frame`. With `previous` (a generator of the same columns), training continues from
        its weights, with its column analysis and encodings, instead of starting over.

        `validation` (bool per row) picks the validation rows; by default a random tenth.
        `column_subjects`: columns whose value protection is their own (see `analyze_frame`).
        """
        options = options or FlatOptions()
        _check_frame(frame)
        if previous is not None and list(frame.columns) != previous.source_columns:
            raise EngineInputError(
                f"cannot continue training: the table's columns {list(frame.columns)} differ from the "
                f"generator's {previous.source_columns}; train a new generator instead"
            )
        unknown = sorted(set(options.encoding_types) - set(frame.columns))
        if unknown:
            raise EngineInputError(
                f"encoding types are set for columns that the table does not have: {unknown}; "
                f"the table's columns are {list(frame.columns)}"
            )
        rng = np.random.default_rng(options.random_state)
        started = time.monotonic()
        if options.max_sample_size and len(frame) > options.max_sample_size:
            keep = np.sort(rng.choice(len(frame), options.max_sample_size, replace=False))
            frame = frame.iloc[keep]
            column_subjects = {
                c: None if s is None else np.asarray(s)[keep] for c, s in (column_subjects or {}).items()
            }
        on_progress(EngineProgress("ANALYZE", 0, 1, "analyzing columns"))
        transforms, plans, model_frame = analyze_frame(
            frame, options, previous, column_subjects=column_subjects
        )
        on_progress(EngineProgress("ENCODE", 0, 1, "encoding"))
        codes = encode_frame(model_frame, plans)
        if previous is not None:
            shape = previous.model.shape
            allowed = previous.allowed
        else:
            shape = shape_for(plans, options.model_size)
            allowed = allowed_codes(codes, shape)
        order = rng.permutation(len(codes))
        if validation is not None:
            val_idx, train_idx = np.flatnonzero(validation), np.flatnonzero(~validation)
        else:
            n_val = int(len(codes) * VALIDATION_SHARE) if len(codes) >= 50 else 0
            val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        settings = training_settings(options)
        model, report = train_model(
            codes[train_idx],
            codes[val_idx],
            shape,
            settings,
            on_progress,
            should_stop,
            initial_state=previous.model.state_dict() if previous is not None else None,
        )
        report.seconds = time.monotonic() - started
        fitted = cls(
            plans,
            model,
            allowed,
            transforms,
            options,
            list(frame.columns),
            report,
            frame.index.to_numpy()[val_idx],
            len(frame),
        )
        fitted.training_codes = codes  # the rows it trained on (not saved): e.g. child tables' context
        return fitted

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Codes of source rows (e.g. parent rows as context, or for key matching)."""
        return encode_frame(self.transforms.forward(frame[self.source_columns]), self.plans)

    # -------------------------------------------------------------- generation
    @property
    def columns(self) -> list[str]:
        return [p.name for p in self.plans]

    def _compute_sub_ranges(self) -> list[tuple[int, int]]:
        ranges, start = [], 0
        for p in self.plans:
            k = len(p.sub_columns())
            ranges.append((start, start + k))
            start += k
        return ranges

    def plan(self, column: str) -> ColumnPlan:
        for p in self.plans:
            if p.name == column:
                return p
        raise KeyError(column)

    def sample(
        self, request: GenerationRequest | None = None, on_progress: ProgressCallback = no_progress
    ) -> pd.DataFrame:
        return self.sample_with_codes(request, on_progress)[0]

    def sample_with_codes(
        self, request: GenerationRequest | None = None, on_progress: ProgressCallback = no_progress
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Synthetic rows, and their codes (the model-space values, e.g. as context of child tables)."""
        request = request or GenerationRequest()
        seed = self._prepare_seed(request)
        n = len(seed)
        rng = np.random.default_rng(request.random_state)
        generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
        model_seed = self.transforms.forward(seed, partial=True)
        fairness = request.fairness
        if fairness:
            model_seed = self._fairness_seed(model_seed, fairness, request, generator)
        fixed, given = self._fixed_codes(model_seed, set(request.imputation))
        controls = self._controls(request, model_seed, n)

        def progress(done: int) -> None:
            on_progress(EngineProgress("GENERATE_DATA", done, n, f"{done} of {n} rows"))

        codes = self.draw(fixed, given, controls, generator, on_rows=progress)
        out = self.decode_rows(codes, rng, seed, request.imputation)
        return out, codes

    def draw(
        self,
        fixed: np.ndarray,
        given: np.ndarray,
        controls: SamplingControls,
        generator: torch.Generator,
        context: torch.Tensor | None = None,
        on_rows: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Codes for every row: given (seeded) columns first, the rest drawn conditionally on them."""
        codes = np.empty_like(fixed)
        done = 0
        for rows in _rows_by_pattern(given):
            first = given[rows[0]]
            order = [i for i in range(len(self.plans)) if first[i]] + [
                i for i in range(len(self.plans)) if not first[i]
            ]
            if not self.options.enable_flexible_generation and order != list(range(len(self.plans))):
                raise EngineInputError(
                    "this generator was trained with enable_flexible_generation=False, so it can only be seeded "
                    f"on a prefix of its columns {self.columns}; retrain with enable_flexible_generation=True"
                )
            sub_controls = SamplingControls(
                controls.temperature,
                controls.top_p,
                controls.allowed,
                {j: m[rows] for j, m in controls.row_allowed.items()},
            )
            row_context = None
            if context is not None:
                row_context = context if len(rows) == len(fixed) else context[torch.from_numpy(rows)]
            codes[rows] = sample_codes(
                self.model, len(rows), order, fixed[rows], sub_controls, generator, row_context
            )
            done += len(rows)
            if on_rows is not None:
                on_rows(done)
        return codes

    def decode_rows(
        self, codes: np.ndarray, rng: np.random.Generator, seed: pd.DataFrame, imputation: Sequence[str] = ()
    ) -> pd.DataFrame:
        """Codes back to source columns, with seeded values kept as given."""
        out = self._decode(codes, rng)
        out = self.transforms.inverse(out, rng)
        for column in seed.columns:
            if column in out.columns:
                keep = seed[column].notna() | ~pd.Series(column in imputation, index=seed.index)
                out[column] = _overlay(
                    out[column], seed[column].reset_index(drop=True), keep.reset_index(drop=True)
                )
        return out[self.source_columns]

    def _prepare_seed(self, request: GenerationRequest) -> pd.DataFrame:
        seed = request.seed
        if seed is not None:
            if not isinstance(seed, pd.DataFrame):
                raise EngineInputError(f"seed must be a pandas DataFrame, got {type(seed).__name__}")
            unknown = [c for c in seed.columns if c not in self.source_columns]
            if unknown:
                raise EngineInputError(
                    f"seed columns {unknown} are not columns of this generator; its columns are {self.source_columns}"
                )
            seed = seed.reset_index(drop=True)
        size = request.size
        if size is not None and (
            not isinstance(size, int | np.integer) or isinstance(size, bool) or size <= 0
        ):
            raise EngineInputError(f"size must be a positive integer, got {size!r}")
        if seed is None:
            seed = pd.DataFrame(index=pd.RangeIndex(size if size is not None else self.n_training_rows))
        rebalancing = request.rebalancing
        if rebalancing:
            seed = self._rebalancing_seed(seed, rebalancing, np.random.default_rng(request.random_state))
        for column in request.imputation:
            if column not in self.source_columns:
                raise EngineInputError(
                    f"imputation column {column!r} is not a column of this generator: {self.source_columns}"
                )
        return seed

    def _rebalancing_seed(
        self, seed: pd.DataFrame, config: Mapping[str, Any], rng: np.random.Generator
    ) -> pd.DataFrame:
        column = config["column"]
        if column not in self.source_columns:
            raise EngineInputError(
                f"rebalancing column {column!r} is not a column of this generator: {self.source_columns}"
            )
        if column in seed.columns:
            raise EngineInputError(f"column {column!r} is both seeded and rebalanced; choose one")
        plan = self.plan(self.transforms.model_column(column))
        if plan.encoding_type != "TABULAR_CATEGORICAL" or plan.name != column:
            raise EngineInputError(
                f"rebalancing needs a categorical column, but {column!r} is encoded as {plan.encoding_type}; "
                "pick a categorical column or set its encoding to TABULAR_CATEGORICAL"
            )
        cats = plan.stats["categories"]
        counts = np.asarray(plan.stats["counts"], dtype=float)
        by_name = {str(c): i for i, c in enumerate(cats)}
        target = np.zeros(len(cats))
        for key, share in dict(config["probabilities"]).items():
            if str(key) not in by_name:
                raise EngineInputError(
                    f"rebalancing category {key!r} does not occur in column {column!r} (or is too rare to be "
                    f"generated); known categories: {[str(c) for c in cats[:20]]}"
                )
            target[by_name[str(key)]] = float(share)
        if target.sum() > 1 + 1e-9 or (target < 0).any():
            raise EngineInputError("rebalancing probabilities must be between 0 and 1 and sum to at most 1")
        rest = ~np.isin(np.arange(len(cats)), [by_name[str(k)] for k in config["probabilities"]])
        if rest.any() and counts[rest].sum() > 0:
            target[rest] = (1 - target.sum()) * counts[rest] / counts[rest].sum()
        target = target / target.sum()
        # Exact counts, then shuffled: shares hold to the row.
        values = np.repeat(np.asarray(cats, dtype=object), exact_counts(target, len(seed)))
        seed = seed.copy()
        seed[column] = pd.Series(values[rng.permutation(len(values))], dtype=object)
        return seed

    def _fairness_seed(
        self,
        model_seed: pd.DataFrame,
        fairness: Mapping[str, Any],
        request: GenerationRequest,
        generator: torch.Generator,
    ) -> pd.DataFrame:
        """Draw the sensitive columns jointly; give every sensitive group the target's overall shares.

        The target's shares come from the model's own marginal; within each group of sensitive
        values they are met exactly (largest remainder), so target and sensitive columns are
        statistically independent in the output.
        """
        target = fairness["target_column"]
        sensitive = list(fairness.get("sensitive_columns") or [])
        for column in [target, *sensitive]:
            if column not in self.columns or self.plan(column).encoding_type != "TABULAR_CATEGORICAL":
                raise EngineInputError(
                    f"fairness columns must be categorical columns of this generator; {column!r} is not"
                )
            if column in model_seed.columns:
                raise EngineInputError(f"fairness column {column!r} cannot also be seeded or rebalanced")
        if not sensitive or target in sensitive:
            raise EngineInputError("fairness needs sensitive_columns that do not include the target_column")
        n = len(model_seed)
        idx = {p.name: i for i, p in enumerate(self.plans)}
        free = np.full((n, len(self.model.shape.cardinalities)), -1, dtype=np.int64)
        controls = self._controls(request, model_seed, n)
        rest = [i for i in range(len(self.plans)) if self.plans[i].name not in sensitive]
        sens_codes = sample_codes(
            self.model, n, [idx[c] for c in sensitive] + rest, free, controls, generator
        )
        target_order = [idx[target]] + [i for i in range(len(self.plans)) if i != idx[target]]
        target_codes = sample_codes(self.model, n, target_order, free, controls, generator)
        lo, _ = self._sub_ranges[idx[target]]
        card = self.model.shape.cardinalities[lo]
        shares = np.bincount(target_codes[:, lo], minlength=card) / max(n, 1)
        groups = pd.Series(
            [row.tobytes() for row in sens_codes[:, [self._sub_ranges[idx[c]][0] for c in sensitive]]]
        )
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        fair_codes = np.empty(n, dtype=np.int64)
        for rows in groups.groupby(groups, sort=False).indices.values():
            fair_codes[rows] = rng.permutation(np.repeat(np.arange(card), exact_counts(shares, len(rows))))
        target_codes[:, lo] = fair_codes
        decoded = self._decode(sens_codes, rng, only=sensitive)
        out = model_seed.copy()
        for c in sensitive:
            out[c] = decoded[c].to_numpy()
        out[target] = self._decode(target_codes, rng, only=[target])[target].to_numpy()
        return out

    def _fixed_codes(self, model_seed: pd.DataFrame, imputed: set[str]) -> tuple[np.ndarray, np.ndarray]:
        n = len(model_seed)
        fixed = np.full((n, len(self.model.shape.cardinalities)), -1, dtype=np.int64)
        given = np.zeros((n, len(self.plans)), dtype=bool)
        for i, plan in enumerate(self.plans):
            if plan.name not in model_seed.columns:
                continue
            values = model_seed[plan.name]
            present = np.ones(n, dtype=bool)
            if plan.name in imputed or self.transforms.source_of(plan.name) & imputed:
                present = values.notna().to_numpy()
            lo, hi = self._sub_ranges[i]
            codes = encoder_for(plan.encoding_type).encode(to_model_space(values, plan), plan.stats)
            fixed[present, lo:hi] = codes[present]
            given[:, i] = present
        return fixed, given

    def _controls(self, request: GenerationRequest, model_seed: pd.DataFrame, n: int) -> SamplingControls:
        allowed = [a.copy() for a in self.allowed]
        for column in request.imputation:
            for i in self.transforms.model_columns_of(column, self.columns):
                lo, _ = self._sub_ranges[i]
                allowed[lo][0] = False  # code 0 is null in every encoding's first sub-column
                if not allowed[lo].any():
                    allowed[lo] = self.allowed[lo].copy()
        row_allowed = self.transforms.row_masks(model_seed, self, n)
        return SamplingControls(request.sampling_temperature, request.sampling_top_p, allowed, row_allowed)

    def _decode(
        self, codes: np.ndarray, rng: np.random.Generator, only: Sequence[str] | None = None
    ) -> pd.DataFrame:
        out = {}
        for i, plan in enumerate(self.plans):
            if only is not None and plan.name not in only:
                continue
            lo, hi = self._sub_ranges[i]
            values = encoder_for(plan.encoding_type).decode(codes[:, lo:hi], plan.stats, rng)
            out[plan.name] = restore(values, plan).reset_index(drop=True)
        return pd.DataFrame(out)

    # --------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "plans": [p.to_dict() for p in self.plans],
            "shape": asdict(self.model.shape),
            "allowed": [np.flatnonzero(a).tolist() for a in self.allowed],
            "options": asdict(self.options),
            "source_columns": self.source_columns,
            "transforms": self.transforms.to_dict(),
            "report": asdict(self.report) if self.report else None,
            "n_training_rows": self.n_training_rows,
            "holdout_index": [
                int(i) if isinstance(i, np.integer | int) else str(i) for i in self.holdout_index
            ],
        }
        self.transforms.save(directory)
        torch.save(self.model.state_dict(), directory / WEIGHTS_FILE)
        (directory / META_FILE).write_text(json.dumps(meta, default=str))

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> FlatGenerator:
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        shape = meta["shape"]
        model = TabularARGN(
            ModelShape(
                tuple(shape["cardinalities"]),
                tuple(shape["column_of"]),
                shape["size"],
                shape["context_dim"],
                tuple(shape.get("repeat", ())),
            )
        )
        model.load_state_dict(torch.load(directory / WEIGHTS_FILE, weights_only=True))
        model.eval()
        allowed = []
        for codes, card in zip(meta["allowed"], shape["cardinalities"], strict=True):
            mask = np.zeros(card, dtype=bool)
            mask[codes] = True
            allowed.append(mask)
        return cls(
            plans=[ColumnPlan.from_dict(p) for p in meta["plans"]],
            model=model,
            allowed=allowed,
            transforms=TableTransforms.load(meta["transforms"], directory),
            options=FlatOptions(**meta["options"]),
            source_columns=meta["source_columns"],
            report=TrainingReport(**meta["report"]) if meta["report"] else None,
            holdout_index=np.asarray(meta["holdout_index"]),
            n_training_rows=meta["n_training_rows"],
        )


def training_settings(options: FlatOptions, random_state: int | None = None) -> TrainingSettings:
    return TrainingSettings(
        max_epochs=options.max_epochs,
        max_training_time=options.max_training_time,
        batch_size=options.batch_size,
        gradient_accumulation_steps=options.gradient_accumulation_steps,
        enable_flexible_generation=options.enable_flexible_generation,
        random_state=options.random_state if random_state is None else random_state,
    )


def analyze_frame(
    frame: pd.DataFrame,
    options: FlatOptions,
    previous: FlatGenerator | None = None,
    subjects: np.ndarray | None = None,
    column_subjects: Mapping[str, np.ndarray | None] | None = None,
) -> tuple[TableTransforms, list[ColumnPlan], pd.DataFrame]:
    """Constraint transforms and column plans of a table (or the earlier ones of `previous`), and
    the frame in model space. `subjects`: the subject of every row, for value protection by
    subject in sequence tables (`encoding.base.SUBJECTS`). `column_subjects`: per column whose
    protection differs from the table's, the subject of every row, or None for no protection
    (a child's copy of its parents' columns follows the parent table's value protection)."""
    column_subjects = column_subjects or {}
    if previous is not None:
        return previous.transforms, previous.plans, previous.transforms.forward(frame)
    transforms = TableTransforms.fit(frame, options.constraints)
    model_frame = transforms.forward(frame)
    plans = [
        plan_column(
            name,
            model_frame[name],
            transforms.encoding_type(name, options.encoding_types.get(name, "AUTO")),
            protect=column_subjects[name] is not None
            if name in column_subjects
            else options.value_protection,
            options={
                "rare_category_replacement_method": transforms.rare_method(
                    name, options.rare_category_replacement_method
                ),
                SUBJECTS: column_subjects[name] if name in column_subjects else subjects,
            },
        )
        for name in model_frame.columns
    ]
    return transforms, plans, model_frame


def shape_for(plans: list[ColumnPlan], size: str, context_dim: int = 0) -> ModelShape:
    return ModelShape(
        cardinalities=tuple(s.cardinality for p in plans for s in p.sub_columns()),
        column_of=tuple(i for i, p in enumerate(plans) for _ in p.sub_columns()),
        size=size,
        context_dim=context_dim,
    )


def allowed_codes(codes: np.ndarray, shape: ModelShape) -> list[np.ndarray]:
    """Per sub-column, the codes seen in training (the only ones generation may draw)."""
    return [np.bincount(codes[:, j], minlength=c) > 0 for j, c in enumerate(shape.cardinalities)]


def _rows_by_pattern(given: np.ndarray) -> list[np.ndarray]:
    """Row indices grouped by which columns are given (seeded), in order of first appearance."""
    if len(given) == 0:
        return []
    if not given.any():
        return [np.arange(len(given))]
    _, first, inverse = np.unique(given, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [np.flatnonzero(inverse == g) for g in np.argsort(first)]


def exact_counts(shares: np.ndarray, n: int) -> np.ndarray:
    """Integer counts summing to n that follow `shares` as closely as possible (largest remainder)."""
    shares = np.asarray(shares, dtype=float)
    raw = shares / shares.sum() * n if shares.sum() > 0 else np.full(len(shares), n / len(shares))
    counts = np.floor(raw).astype(int)
    counts[np.argsort(raw - counts)[::-1][: n - counts.sum()]] += 1
    return counts


def encode_frame(frame: pd.DataFrame, plans: list[ColumnPlan]) -> np.ndarray:
    blocks = [encoder_for(p.encoding_type).encode(to_model_space(frame[p.name], p), p.stats) for p in plans]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1), dtype=np.int64)


def _overlay(generated: pd.Series, seeded: pd.Series, keep: pd.Series) -> pd.Series:
    """Seeded values replace generated ones where kept, in the generated column's dtype where possible."""
    try:
        return generated.where(~keep, seeded.astype(generated.dtype))
    except (TypeError, ValueError):
        return generated.astype(object).where(~keep, seeded.astype(object))
