"""Quality of a synthetic text column against real texts (a holdout), without any hub model.

- `length_accuracy`: 1 - total variation distance of the character-length distributions, in ten
  bins of the real lengths' deciles.
- `term_accuracy`: 1 - total variation distance of the term distributions over the real texts'
  most frequent terms (lower-cased words), as the tabular accuracies work on the most frequent
  categories. Compare it with a second real sample's figure (`TextQuality.term_accuracy_max`).
- `discriminator_auc`: ROC AUC of a classifier telling synthetic from real texts (TF-IDF of
  character 2-4-grams, logistic regression, 5-fold cross validation): 0.5 is indistinguishable.
  scikit-learn where installed, else a small numpy logistic regression on hashed n-grams.
- `copy_shares`: the share of synthetic texts identical to a training text, and to a holdout text;
  the first no higher than the second means memorization is at chance level.
- `length_bivariate_accuracy`: 1 - TVD of the joint distribution (length bin x a category column).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

LENGTH_BINS = 10
TOP_TERMS = 100
TOP_CATEGORIES = 10
_WORD = re.compile(r"\w+", re.UNICODE)


def _texts(values: Sequence[object] | pd.Series) -> pd.Series:
    return pd.Series(list(values), dtype=object).dropna().astype(str)


def _edges(lengths: np.ndarray, bins: int) -> np.ndarray:
    return np.unique(np.quantile(lengths, np.linspace(0, 1, bins + 1))[1:-1])


def _tvd_accuracy(a: pd.Series, b: pd.Series) -> float:
    p, q = a.value_counts(normalize=True), b.value_counts(normalize=True)
    p, q = p.align(q, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(p - q).sum())


def length_accuracy(synthetic: Sequence[object], real: Sequence[object], bins: int = LENGTH_BINS) -> float:
    syn, ref = _texts(synthetic).str.len().to_numpy(), _texts(real).str.len().to_numpy()
    if not len(syn) or not len(ref):
        return float("nan")
    edges = _edges(ref, bins)
    return _tvd_accuracy(pd.Series(np.digitize(syn, edges)), pd.Series(np.digitize(ref, edges)))


def _terms(texts: pd.Series) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_WORD.findall(text.lower()))
    return counts


def term_accuracy(synthetic: Sequence[object], real: Sequence[object], top: int = TOP_TERMS) -> float:
    """1 - TVD of the term shares among the real texts' `top` most frequent terms."""
    ref, syn = _terms(_texts(real)), _terms(_texts(synthetic))
    vocabulary = [t for t, _ in ref.most_common(top)]
    if not vocabulary:
        return float("nan")
    p = np.array([ref[t] for t in vocabulary], dtype=float)
    q = np.array([syn[t] for t in vocabulary], dtype=float)
    if q.sum() == 0:
        return 0.0
    return float(1.0 - 0.5 * np.abs(p / p.sum() - q / q.sum()).sum())


def copy_shares(
    synthetic: Sequence[object], training: Sequence[object], holdout: Sequence[object]
) -> tuple[float, float]:
    """(share of synthetic texts equal to a training text, share equal to a holdout text)."""
    syn = _texts(synthetic)
    if not len(syn):
        return float("nan"), float("nan")
    train, hold = set(_texts(training)), set(_texts(holdout))
    return float(syn.isin(train).mean()), float(syn.isin(hold).mean())


def length_bivariate_accuracy(
    synthetic_text: Sequence[object],
    synthetic_category: Sequence[object],
    real_text: Sequence[object],
    real_category: Sequence[object],
    bins: int = 5,
) -> float:
    """1 - TVD of (length bin, category) pairs; categories beyond the real top ten are grouped."""
    syn_len = pd.Series(list(synthetic_text), dtype=object).fillna("").astype(str).str.len().to_numpy()
    ref_len = pd.Series(list(real_text), dtype=object).fillna("").astype(str).str.len().to_numpy()
    edges = _edges(ref_len, bins)
    ref_cat = pd.Series(list(real_category), dtype=object).astype(str)
    top = set(ref_cat.value_counts().index[:TOP_CATEGORIES])
    syn_cat = pd.Series(list(synthetic_category), dtype=object).astype(str)

    def pairs(lengths: np.ndarray, cats: pd.Series) -> pd.Series:
        grouped = cats.where(cats.isin(top), "(other)")
        return pd.Series(np.digitize(lengths, edges).astype(str)) + "|" + grouped.reset_index(drop=True)

    return _tvd_accuracy(pairs(syn_len, syn_cat), pairs(ref_len, ref_cat))


def discriminator_auc(
    synthetic: Sequence[object], real: Sequence[object], *, seed: int = 0, limit: int = 5000
) -> float:
    """Cross-validated AUC of telling synthetic from real texts (equal-sized samples)."""
    rng = np.random.default_rng(seed)
    syn, ref = _texts(synthetic).to_numpy(), _texts(real).to_numpy()
    n = min(len(syn), len(ref), limit)
    if n < 10:
        return float("nan")
    texts = np.concatenate([rng.choice(syn, n, replace=False), rng.choice(ref, n, replace=False)])
    labels = np.r_[np.ones(n), np.zeros(n)]
    try:
        return _sklearn_auc(texts, labels, seed)
    except ImportError:
        return _numpy_auc(texts, labels, rng)


def _sklearn_auc(texts: np.ndarray, labels: np.ndarray, seed: int) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, max_features=50000
        ),
        LogisticRegression(C=1.0, max_iter=1000),
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    scores = cross_val_predict(pipeline, texts, labels, cv=folds, method="predict_proba")[:, 1]
    return _auc(scores, labels)


def _hashed(texts: np.ndarray, dim: int = 2**12) -> np.ndarray:
    features = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        padded = f" {text} "
        for n in (2, 3, 4):
            for j in range(len(padded) - n + 1):
                features[i, hash(padded[j : j + n]) % dim] += 1.0
    features = np.log1p(features)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-9)


def _numpy_auc(texts: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> float:
    """Logistic regression by gradient descent on hashed character n-grams, 5-fold."""
    x = _hashed(texts)
    fold = rng.permutation(len(x)) % 5
    scores = np.zeros(len(x))
    for k in range(5):
        train, test = fold != k, fold == k
        w, b = np.zeros(x.shape[1]), 0.0
        for _ in range(100):
            p = 1 / (1 + np.exp(-(x[train] @ w + b)))
            w -= 4.0 * (x[train].T @ (p - labels[train]) / train.sum() + 1e-4 * w)
            b -= 4.0 * float(np.mean(p - labels[train]))
        scores[test] = x[test] @ w + b
    return _auc(scores, labels)


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    ranks = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class TextQuality:
    """The text figures of one column: synthetic against the holdout, and a real sample's ceiling."""

    length_accuracy: float
    term_accuracy: float
    term_accuracy_max: float  # a second real sample (training texts) against the holdout
    discriminator_auc: float
    training_copies: float
    holdout_matches: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def text_quality(
    synthetic: Sequence[object],
    training: Sequence[object],
    holdout: Sequence[object] | None,
    *,
    seed: int = 0,
    limit: int = 5000,
) -> TextQuality:
    """Every text figure of one column (see the module doc). Without a holdout the training texts
    are the reference, and the figures that need a second real sample are NaN."""
    reference = training if holdout is None else holdout
    copies, matches = copy_shares(synthetic, training, [] if holdout is None else holdout)
    return TextQuality(
        length_accuracy=length_accuracy(synthetic, reference),
        term_accuracy=term_accuracy(synthetic, reference),
        term_accuracy_max=float("nan") if holdout is None else term_accuracy(training, holdout),
        discriminator_auc=discriminator_auc(synthetic, reference, seed=seed, limit=limit),
        training_copies=copies,
        holdout_matches=float("nan") if holdout is None else matches,
    )


@dataclass(frozen=True)
class TextSection:
    """What a report shows of one text column."""

    column: str
    quality: TextQuality
    length_by: dict[str, float]  # (length bin x category) accuracy per categorical column
    samples: list[tuple[str, str]]  # (synthetic, real) texts


def _categorical(frame: pd.DataFrame, skip: Sequence[str]) -> list[str]:
    """Columns that read as categories: few distinct values, not numbers or dates."""
    out = []
    for name in frame.columns:
        column = frame[name]
        numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
        if name in skip or numeric or pd.api.types.is_datetime64_any_dtype(column.dtype):
            continue
        if column.nunique(dropna=True) <= 50:
            out.append(str(name))
    return out[:5]


def text_sections(
    columns: Sequence[str],
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame | None,
    *,
    seed: int = 0,
    samples: int = 5,
) -> list[TextSection]:
    """The report's text figures of `columns` (the reference: holdout, else training)."""
    reference = training if holdout is None else holdout
    sections = []
    for name in columns:
        if name not in synthetic.columns or name not in training.columns:
            continue
        hold = None if holdout is None or name not in holdout.columns else holdout[name]
        quality = text_quality(synthetic[name], training[name], hold, seed=seed, limit=2000)
        length_by = {
            c: length_bivariate_accuracy(synthetic[name], synthetic[c], reference[name], reference[c])
            for c in _categorical(training, columns)
            if c in synthetic.columns and c in reference.columns
        }
        pairs = sample_pairs(synthetic[name], reference[name], n=samples, seed=seed)
        sections.append(TextSection(name, quality, length_by, pairs))
    return sections


def sample_pairs(
    synthetic: Sequence[object], real: Sequence[object], n: int = 5, seed: int = 0
) -> list[tuple[str, str]]:
    """A few synthetic texts beside real ones, for reports."""
    rng = np.random.default_rng(seed)
    syn, ref = _texts(synthetic).to_numpy(), _texts(real).to_numpy()
    k = min(n, len(syn), len(ref))
    return list(zip(rng.choice(syn, k, replace=False), rng.choice(ref, k, replace=False), strict=True))
