"""`assess` computes every metric and keeps what the reports draw; `evaluate` returns the figures."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth_dagster.domain.metrics import Accuracy, ModelMetrics
from synth_dagster.qa import accuracy as acc
from synth_dagster.qa._prepare import Context, FrameName, Prepared, equal_size, prepare
from synth_dagster.qa.binning import Binning, fit_binning
from synth_dagster.qa.distances import DistanceResult, compute_distances
from synth_dagster.qa.encoding import RecordEncoder, record_hashes, record_texts
from synth_dagster.qa.similarity import Embedder, compute_similarity, resolve_embedder
from synth_dagster.qa.text import TextSection, text_sections
from synth_dagster.qa.uncertainty import gap_interval

DEFAULT_MAX_SAMPLE_SIZE = 100_000  # records per dataset for the accuracy metrics
DEFAULT_MAX_DISTANCE_SAMPLE_SIZE = 10_000  # records per dataset for distances and similarity
N_REPORT_PAIRS = 6  # strongest training associations drawn as heat maps


@dataclass
class Evaluation:
    """The metrics plus the intermediate results that the HTML reports show."""

    metrics: ModelMetrics
    target_columns: list[str]
    context_columns: list[str]
    binning: Binning
    univariate: list[acc.MarginalAccuracy]
    bivariate: list[acc.MarginalAccuracy]
    trivariate: list[acc.MarginalAccuracy]
    coherence: list[acc.MarginalAccuracy]
    # Per column: relative frequency per bin, for "training", "synthetic" and maybe "holdout".
    distributions: dict[str, dict[str, np.ndarray]]
    # Strongest training pairs: 2D relative frequencies (rows: first column's bins).
    pair_distributions: dict[tuple[str, str], dict[str, np.ndarray]]
    # Cramér's V between binned columns, per dataset, in `columns` order.
    associations: dict[str, np.ndarray]
    distances: DistanceResult | None
    embedding: str
    is_sequential: bool
    sizes: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    text: list[TextSection] = field(default_factory=list)  # per free-text column

    @property
    def columns(self) -> list[str]:
        return self.target_columns + self.context_columns

    @property
    def has_holdout(self) -> bool:
        return "holdout" in self.associations

    def summary(self) -> dict[str, object]:
        """Flat JSON-friendly figures (e.g. for Dagster metadata)."""
        out: dict[str, object] = {"embedding": self.embedding, **{f"n_{k}": v for k, v in self.sizes.items()}}
        for part in ("accuracy", "similarity", "distances"):
            model = getattr(self.metrics, part)
            if model is not None:
                out |= {f"{part}.{k}": v for k, v in model.model_dump().items() if v is not None}
        return out


def cramers_v(codes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Symmetric matrix of Cramér's V between the binned columns (1 on the diagonal)."""
    k = codes.shape[1]
    out = np.eye(k)
    n = codes.shape[0]
    for i in range(k):
        for j in range(i + 1, k):
            joint, _ = acc.joint_codes(codes, (i, j), sizes)
            table = np.bincount(joint, minlength=int(sizes[i] * sizes[j])).reshape(sizes[i], sizes[j])
            table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0].astype(np.float64)
            r, c = table.shape
            if min(r, c) < 2:
                continue
            expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
            chi2 = float(((table - expected) ** 2 / expected).sum())
            out[i, j] = out[j, i] = float(np.sqrt(min(chi2 / (n * (min(r, c) - 1)), 1.0)))
    return out


def _accuracy(
    prep: Prepared, binning: Binning, random_state: int
) -> tuple[Accuracy, dict[str, object], dict[FrameName, np.ndarray], Prepared]:
    has_hol = prep.has("holdout")
    # The holdout reference is only fair at the same sample size as the synthetic data.
    view = equal_size(prep, ["synthetic", "holdout"], random_state) if has_hol else prep
    codes: dict[FrameName, np.ndarray] = {n: binning.codes(view.frames[n]) for n in view.frames}
    names = view.columns
    sizes = np.array([binning.columns[c].n_codes for c in names], dtype=np.int64)
    nt = len(view.target_columns)
    trn, syn, hol = codes["training"], codes["synthetic"], codes.get("holdout")
    parts: dict[str, object] = {
        "univariate": acc.univariates(trn, syn, hol, names, sizes, nt),
        "bivariate": acc.bivariates(trn, syn, hol, names, sizes, nt),
        "trivariate": acc.trivariates(trn, syn, hol, names, sizes, nt, random_state),
        "coherence": [],
    }
    if view.is_sequential:
        g = view.groups
        assert g["training"] is not None and g["synthetic"] is not None
        parts["coherence"] = acc.coherences(
            trn, g["training"], syn, g["synthetic"], hol, g.get("holdout"), names, sizes, nt
        )
    figures: dict[str, float | None] = {}
    for key in ("univariate", "bivariate", "trivariate", "coherence"):
        figures[key], figures[f"{key}_max"] = acc.mean_accuracy(parts[key])  # type: ignore[arg-type]
    # Overall as the reference defines it: univariate, bivariate and coherence (when it applies).
    for suffix in ("", "_max"):
        used = [figures[k + suffix] for k in ("univariate", "bivariate", "coherence") if parts[k]]
        figures["overall" + suffix] = (
            None if not used or any(v is None for v in used) else float(np.mean(used))
        )
    if hol is not None and figures["overall"] is not None and figures["overall_max"] is not None:
        groups = view.groups if view.is_sequential else {}
        interval = gap_interval(
            trn,
            (syn, groups.get("synthetic")),
            (hol, groups.get("holdout")),
            sizes,
            nt,
            figures["overall_max"] - figures["overall"],
            random_state,
        )
        if interval is not None:
            figures["overall_gap_low"], figures["overall_gap_high"] = (
                float(np.clip(x, -1, 1)) for x in interval
            )
    return Accuracy(**figures), parts, codes, view


def assess(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame | None = None,
    *,
    context: Context | None = None,
    context_key: str | None = None,
    group_key: str | None = None,
    max_sample_size: int | None = DEFAULT_MAX_SAMPLE_SIZE,
    max_distance_sample_size: int = DEFAULT_MAX_DISTANCE_SAMPLE_SIZE,
    random_state: int = 0,
    embedder: Embedder | str | os.PathLike[str] | None = None,
    text_columns: Sequence[str] = (),
) -> Evaluation:
    """Compare synthetic data with its training data (and the holdout kept aside, if any).

    Records are rows, or whole groups when `group_key` (or `context_key`) makes the data
    sequential. `context` joins each dataset's context table on `context_key` -> primary key.
    Accuracy uses up to `max_sample_size` records per dataset, with synthetic and holdout sampled
    to a common size; distances and similarity use a common size of at most
    `max_distance_sample_size`. Sampling is seeded by `random_state`. `text_columns` (free text)
    get text figures and sample texts as well (`synth_dagster.qa.text`).
    """
    started = time.perf_counter()
    resolved = resolve_embedder(embedder)
    prep = prepare(
        synthetic,
        training,
        holdout,
        context=context,
        context_key=context_key,
        group_key=group_key,
        max_sample_size=max_sample_size,
        random_state=random_state,
    )
    hol_frame = prep.frames.get("holdout")
    binning = fit_binning(prep.columns, prep.kinds, prep.frames["training"], hol_frame)
    accuracy, parts, codes, view = _accuracy(prep, binning, random_state)

    names = view.columns
    sizes = np.array([binning.columns[c].n_codes for c in names], dtype=np.int64)
    frame_names = list(codes)
    distributions = {
        c: {n: acc.frequencies(codes[n][:, i], int(sizes[i])) for n in frame_names}
        for i, c in enumerate(names)
    }
    associations = {n: cramers_v(codes[n], sizes) for n in frame_names}
    strongest = sorted(
        ((associations["training"][i, j], i, j) for i in range(len(names)) for j in range(i + 1, len(names))),
        reverse=True,
    )[:N_REPORT_PAIRS]
    pair_distributions = {}
    for _, i, j in strongest:
        cells = {}
        for n in ("training", "synthetic"):
            joint, m = acc.joint_codes(codes[n], (i, j), sizes)
            cells[n] = acc.frequencies(joint, m).reshape(sizes[i], sizes[j])
        pair_distributions[(names[i], names[j])] = cells

    # Distances and similarity: all datasets at one common size (the reference's recommendation).
    dist_names: list[FrameName] = ["synthetic", "training"] + (["holdout"] if prep.has("holdout") else [])
    dview = equal_size(prep, dist_names, random_state, cap=max_distance_sample_size)
    encoder = RecordEncoder.fit(prep, binning)
    x = {n: encoder.encode(dview, n) for n in dist_names}
    h = {n: record_hashes(dview, n) for n in dist_names}
    distances = compute_distances(
        x["synthetic"], x["training"], x.get("holdout"), h["synthetic"], h["training"], h.get("holdout")
    )
    if resolved.embed is None:
        emb = x
    else:
        emb = {n: np.asarray(resolved.embed(record_texts(dview, n)), dtype=np.float64) for n in dist_names}
    similarity = compute_similarity(emb["synthetic"], emb["training"], emb.get("holdout"), random_state)

    run_sizes = {f"{n}_records": prep.original_sizes[n] for n in prep.frames}
    run_sizes |= {f"{n}_accuracy_sample": view.n_records(n) for n in view.frames}
    run_sizes["distance_sample"] = distances.n_records
    return Evaluation(
        metrics=ModelMetrics(
            accuracy=accuracy,
            distances=distances.metrics,
            similarity=similarity,
            holdout_records=prep.original_sizes.get("holdout"),
        ),
        target_columns=prep.target_columns,
        context_columns=prep.context_columns,
        binning=binning,
        univariate=parts["univariate"],  # type: ignore[arg-type]
        bivariate=parts["bivariate"],  # type: ignore[arg-type]
        trivariate=parts["trivariate"],  # type: ignore[arg-type]
        coherence=parts["coherence"],  # type: ignore[arg-type]
        distributions=distributions,
        pair_distributions=pair_distributions,
        associations=associations,
        distances=distances,
        embedding=resolved.name,
        is_sequential=prep.is_sequential,
        sizes=run_sizes,
        elapsed_seconds=time.perf_counter() - started,
        text=text_sections(text_columns, synthetic, training, holdout, seed=random_state),
    )
