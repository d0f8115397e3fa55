"""Similarity of the full joint distributions: centroid cosine and a discriminator's AUC.

Records are embedded either by a sentence-embedding model found on disk (optional, offline) or by
the built-in numeric encoding of `encoding.py`. Nothing is ever downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth_dagster.domain.metrics import Similarity

Embedder = Callable[[list[str]], np.ndarray]
EMBEDDER_ENV = "SYNTH_DAGSTER_EMBEDDING_MODEL"  # a local model directory
BUILTIN_EMBEDDING = "built-in (percentile positions + one-hot categories)"
CV_FOLDS = 5
MAX_DISCRIMINATOR_RECORDS = 5_000  # per class; the AUC's noise is already ~0.01 at this size


@dataclass(frozen=True)
class ResolvedEmbedder:
    name: str
    embed: Embedder | None  # None: use the built-in encoding


def _load_local_model(path: Path) -> ResolvedEmbedder:
    """A Model2Vec or sentence-transformers model from a local directory."""
    if not path.exists():
        raise FileNotFoundError(f"embedding model directory {str(path)!r} does not exist")
    try:
        from model2vec import StaticModel  # type: ignore[import-not-found]

        model = StaticModel.from_pretrained(str(path))
        return ResolvedEmbedder(f"model2vec:{path.name}", lambda texts: np.asarray(model.encode(texts)))
    except ImportError:
        pass
    try:
        from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ImportError(
            f"an embedding model is configured at {str(path)!r}, but neither `model2vec` nor "
            "`sentence-transformers` is installed; install one, or unset it to use the built-in encoding."
        ) from exc
    st = SentenceTransformer(str(path), local_files_only=True)
    return ResolvedEmbedder(f"sentence-transformers:{path.name}", lambda texts: np.asarray(st.encode(texts)))


def resolve_embedder(embedder: Embedder | str | os.PathLike[str] | None) -> ResolvedEmbedder:
    """A callable is used as is; a path (or $SYNTH_DAGSTER_EMBEDDING_MODEL) loads a local model."""
    if callable(embedder):
        return ResolvedEmbedder(getattr(embedder, "__name__", type(embedder).__name__), embedder)
    if embedder is None:
        env = os.environ.get(EMBEDDER_ENV)
        if not env or not Path(env).exists():
            return ResolvedEmbedder(BUILTIN_EMBEDDING, None)
        embedder = env
    return _load_local_model(Path(embedder))


def cosine_of_centroids(a: np.ndarray, b: np.ndarray) -> float:
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    denom = float(np.linalg.norm(ca) * np.linalg.norm(cb))
    if denom == 0.0:
        return 1.0 if np.allclose(ca, cb) else 0.0
    return float(np.clip(ca @ cb / denom, -1.0, 1.0))


def discriminator_auc(a: np.ndarray, b: np.ndarray, random_state: int) -> float | None:
    """Mean ROC AUC over stratified folds of a gradient-boosted classifier telling a from b."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(random_state)
    n = min(len(a), len(b), MAX_DISCRIMINATOR_RECORDS)
    if n < 2 * CV_FOLDS:
        return None  # too few records for a cross-validated AUC to mean anything
    a = a[np.sort(rng.choice(len(a), n, replace=False))]
    b = b[np.sort(rng.choice(len(b), n, replace=False))]
    x = np.vstack([a, b])
    y = np.r_[np.zeros(n), np.ones(n)]
    model = HistGradientBoostingClassifier(
        max_iter=60, learning_rate=0.1, max_leaf_nodes=15, early_stopping=False, random_state=random_state
    )
    folds = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=random_state)
    # One OpenMP thread: on small folds the thread hand-offs cost more than they save.
    with threadpool_limits(1, user_api="openmp"):
        scores = cross_val_score(model, x, y, cv=folds, scoring="roc_auc")
    return float(np.clip(np.mean(scores), 0.0, 1.0))


def compute_similarity(
    e_syn: np.ndarray, e_trn: np.ndarray, e_hol: np.ndarray | None, random_state: int
) -> Similarity:
    fields = {
        "cosine_similarity_training_synthetic": cosine_of_centroids(e_trn, e_syn),
        "discriminator_auc_training_synthetic": discriminator_auc(e_trn, e_syn, random_state),
    }
    if e_hol is not None:
        fields |= {
            "cosine_similarity_training_holdout": cosine_of_centroids(e_trn, e_hol),
            "discriminator_auc_training_holdout": discriminator_auc(e_trn, e_hol, random_state),
        }
    return Similarity(**fields)
