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
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.analysis import ColumnPlan, restore, to_model_space
from synth_dagster.engine.constraints import TableTransforms
from synth_dagster.engine.device import resolve_device
from synth_dagster.engine.encoding import encoder_for
from synth_dagster.engine.errors import EngineInputError
from synth_dagster.engine.flat.frames import (
    allowed_codes,
    analyze_frame,
    check_frame,
    encode_frame,
    exact_counts,
    overlay,
    rows_by_pattern,
    shape_for,
)
from synth_dagster.engine.flat.options import (
    VALIDATION_SHARE,
    FlatOptions,
    GenerationRequest,
    training_settings,
)
from synth_dagster.engine.flat.seed_checks import warn_unlearned_seed_values
from synth_dagster.engine.flat.seeding import rebalanced_seed
from synth_dagster.engine.model import ModelShape, TabularARGN
from synth_dagster.engine.privacy.flat import train_flat
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck, never_stop, no_progress
from synth_dagster.engine.sampling import SamplingControls, sample_codes
from synth_dagster.engine.training import TrainingReport

META_FILE = "meta.json"
WEIGHTS_FILE = "model.pt"


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
        check_frame(frame)
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
        initial = previous.model.state_dict() if previous is not None else None
        earlier = previous.report.privacy if previous is not None and previous.report else None
        model, report = train_flat(
            (codes[train_idx], codes[val_idx]),
            shape,
            training_settings(options),
            options.differential_privacy,
            (initial, earlier),
            on_progress,
            should_stop,
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
        for rows in rows_by_pattern(given):
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
                out[column] = overlay(
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
            warn_unlearned_seed_values(seed, self.plans, self.transforms.model_column)
        size = request.size
        if size is not None and (
            not isinstance(size, int | np.integer) or isinstance(size, bool) or size <= 0
        ):
            raise EngineInputError(f"size must be a positive integer, got {size!r}")
        if seed is None:
            seed = pd.DataFrame(index=pd.RangeIndex(size if size is not None else self.n_training_rows))
        rebalancing = request.rebalancing
        if rebalancing:
            seed = rebalanced_seed(
                seed,
                rebalancing,
                self.source_columns,
                lambda column: self.plan(self.transforms.model_column(column)),
                np.random.default_rng(request.random_state),
            )
        for column in request.imputation:
            if column not in self.source_columns:
                raise EngineInputError(
                    f"imputation column {column!r} is not a column of this generator: {self.source_columns}"
                )
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
        row_allowed = self.transforms.row_masks(model_seed, self.plans, self._sub_ranges, self.allowed, n)
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
    def to_device(self, device: str | None) -> FlatGenerator:
        """Draw on `device` from now on ("auto", "cpu", "cuda[:N]"; the CPU where it is absent)."""
        self.model.to(resolve_device(device))
        return self

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
        model = TabularARGN(ModelShape.from_dict(shape))
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
