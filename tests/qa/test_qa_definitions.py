"""The metrics match their definitions, recomputed here by independent, direct pandas code.

Definitions (see synth_dagster/qa/binning.py and encoding.py):
- numeric / datetime: bins split at the unique 10th..90th percentiles of training ∪ holdout,
  right-closed; categorical: the 10 most frequent training values (ties by value), else "other";
  plus a missing-value bin. Accuracy = 1 - half the summed absolute difference of bin shares.
- distances: numbers at their position on training ∪ holdout's 101-percentile curve (+ a missing
  flag), categories one-hot / sqrt(2); Euclidean nearest neighbours; DCR share counts ties half.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from synth_dagster.qa import Evaluation, assess

TOL = 1e-6


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)) or (
        pd.api.types.is_bool_dtype(s)
    )


def _as_float(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        return (s - pd.Timestamp("1970-01-01")) / pd.Timedelta(1, "ns")
    return s.astype("float64")


def _top10(trn: pd.Series) -> list[str]:
    counts = trn.dropna().astype(str).value_counts()
    return sorted(counts.index, key=lambda v: (-counts[v], v))[:10]


def _labels(col: str, frames: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """Bin label of every value of `col` in each frame, computed with pd.cut / value_counts."""
    trn, hol = frames["training"][col], frames["holdout"][col]
    out = {}
    if _is_categorical(trn):
        top = _top10(trn)
        for name, df in frames.items():
            s = df[col].astype(object)
            lab = s.astype(str).where(s.astype(str).isin(top), "other")
            out[name] = lab.where(s.notna(), "N/A")
        return out
    ref = pd.concat([_as_float(trn), _as_float(hol)]).dropna()
    inner = ref.quantile([i / 10 for i in range(1, 10)]).unique()
    edges = [-np.inf, *sorted(inner), np.inf]
    for name, df in frames.items():
        x = _as_float(df[col])
        lab = pd.cut(x, edges, right=True, labels=False).astype("float64")
        out[name] = lab.map(lambda v: "N/A" if np.isnan(v) else f"bin{int(v)}")
    return out


def _acc(a: pd.Series, b: pd.Series) -> float:
    pa = a.value_counts(normalize=True)
    pb = b.value_counts(normalize=True)
    return 1.0 - 0.5 * pa.sub(pb, fill_value=0.0).abs().sum()


def _pair(labels: dict[str, dict[str, pd.Series]], a: str, b: str, name: str) -> pd.Series:
    return labels[a][name] + " | " + labels[b][name]


@pytest.fixture(scope="module")
def frames(triple: tuple[pd.DataFrame, ...]) -> dict[str, pd.DataFrame]:
    trn, hol, syn = triple
    return {"training": trn, "holdout": hol, "synthetic": syn}


@pytest.fixture(scope="module")
def evaluation(triple_evaluation: Evaluation) -> Evaluation:
    return triple_evaluation


@pytest.fixture(scope="module")
def labels(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, pd.Series]]:
    return {c: _labels(c, frames) for c in frames["training"].columns}


def test_univariate_matches_direct_computation(evaluation: Evaluation, labels, frames) -> None:
    cols = list(frames["training"].columns)
    got = {m.columns[0]: m for m in evaluation.univariate}
    assert sorted(got) == sorted(cols)
    for c in cols:
        assert got[c].accuracy == pytest.approx(
            _acc(labels[c]["training"], labels[c]["synthetic"]), abs=TOL
        ), c
        assert got[c].accuracy_max == pytest.approx(
            _acc(labels[c]["training"], labels[c]["holdout"]), abs=TOL
        ), c
    acc = evaluation.metrics.accuracy
    assert acc is not None
    direct = np.mean([_acc(labels[c]["training"], labels[c]["synthetic"]) for c in cols])
    assert acc.univariate == pytest.approx(direct, abs=TOL)


def test_bivariate_matches_direct_computation(evaluation: Evaluation, labels, frames) -> None:
    cols = list(frames["training"].columns)
    got = {m.columns: m for m in evaluation.bivariate}
    pairs = list(itertools.combinations(cols, 2))
    assert sorted(got) == sorted(pairs)
    syn, hol = [], []
    for a, b in pairs:
        trn_ab = _pair(labels, a, b, "training")
        syn.append(_acc(trn_ab, _pair(labels, a, b, "synthetic")))
        hol.append(_acc(trn_ab, _pair(labels, a, b, "holdout")))
        assert got[(a, b)].accuracy == pytest.approx(syn[-1], abs=TOL), (a, b)
        assert got[(a, b)].accuracy_max == pytest.approx(hol[-1], abs=TOL), (a, b)
    acc = evaluation.metrics.accuracy
    assert acc is not None
    assert acc.bivariate == pytest.approx(np.mean(syn), abs=TOL)
    assert acc.bivariate_max == pytest.approx(np.mean(hol), abs=TOL)
    # Overall as the reference defines it for flat tables: mean of univariate and bivariate.
    assert acc.overall == pytest.approx((acc.univariate + acc.bivariate) / 2, abs=TOL)


def test_trivariate_matches_direct_computation(evaluation: Evaluation, labels) -> None:
    assert evaluation.trivariate, "trivariate accuracy was not computed"
    for m in evaluation.trivariate[:10]:
        a, b, c = m.columns
        trn = _pair(labels, a, b, "training") + " | " + labels[c]["training"]
        syn = _pair(labels, a, b, "synthetic") + " | " + labels[c]["synthetic"]
        assert m.accuracy == pytest.approx(_acc(trn, syn), abs=TOL)


def _encode(frames: dict[str, pd.DataFrame]) -> dict[str, np.ndarray]:
    trn, hol = frames["training"], frames["holdout"]
    blocks: dict[str, list[np.ndarray]] = {k: [] for k in frames}
    grid = np.linspace(0.0, 1.0, 101)
    for col in trn.columns:
        if _is_categorical(trn[col]):
            levels = [*_top10(trn[col]), "other", "N/A"]
            lab = _labels(col, frames)
            for name in frames:
                onehot = pd.get_dummies(lab[name]).reindex(columns=levels, fill_value=0).to_numpy(float)
                blocks[name].append(onehot / np.sqrt(2.0))
            continue
        curve = pd.concat([_as_float(trn[col]), _as_float(hol[col])]).dropna().quantile(grid).to_numpy()
        for name, df in frames.items():
            x = _as_float(df[col]).to_numpy()
            pos = np.where(np.isnan(x), 0.0, np.interp(x, curve, grid))
            blocks[name].append(np.column_stack([pos, np.isnan(x).astype(float)]))
    return {k: np.hstack(v) for k, v in blocks.items()}


def _direct_distances(frames: dict[str, pd.DataFrame]) -> tuple[float, np.ndarray, np.ndarray]:
    enc = _encode(frames)
    d_trn, _ = cKDTree(enc["training"]).query(enc["synthetic"], k=1)
    d_hol, _ = cKDTree(enc["holdout"]).query(enc["synthetic"], k=1)
    d_trn, d_hol = np.round(d_trn, 10), np.round(d_hol, 10)
    return float(np.mean(d_trn < d_hol) + 0.5 * np.mean(d_trn == d_hol)), d_trn, d_hol


def test_dcr_share_matches_direct_computation(evaluation: Evaluation, frames) -> None:
    share, d_trn, d_hol = _direct_distances(frames)
    dist = evaluation.metrics.distances
    assert dist is not None
    assert dist.dcr_share == pytest.approx(share, abs=TOL)
    assert dist.dcr_training == pytest.approx(d_trn.mean(), abs=TOL)
    assert dist.dcr_holdout == pytest.approx(d_hol.mean(), abs=TOL)


def test_dcr_share_counts_ties_half(frames) -> None:
    """Categories only: distances take few values, so most records tie between training and holdout."""
    cols = ["cut", "color", "clarity"]
    sub = {k: v[cols] for k, v in frames.items()}
    share, d_trn, d_hol = _direct_distances(sub)
    assert np.mean(d_trn == d_hol) > 0.5  # the case this test is about
    dist = assess(sub["synthetic"], sub["training"], sub["holdout"]).metrics.distances
    assert dist is not None
    assert dist.dcr_share == pytest.approx(share, abs=TOL)
    assert dist.dcr_training == pytest.approx(d_trn.mean(), abs=TOL)


def test_unseen_real_rows_look_like_a_holdout(evaluation: Evaluation) -> None:
    """'Synthetic' rows drawn from unseen real data: nothing to tell them from training."""
    dist, sim = evaluation.metrics.distances, evaluation.metrics.similarity
    assert dist is not None and sim is not None
    assert 0.45 <= dist.dcr_share <= 0.55
    assert sim.discriminator_auc_training_synthetic <= 0.56
    assert sim.discriminator_auc_training_holdout <= 0.56
    assert sim.cosine_similarity_training_synthetic > 0.999


def test_synthetic_equal_to_training_scores_perfectly(copy_evaluation: Evaluation) -> None:
    ev = copy_evaluation
    acc, dist = ev.metrics.accuracy, ev.metrics.distances
    assert acc is not None and dist is not None
    for key in ("overall", "univariate", "bivariate", "trivariate"):
        assert getattr(acc, key) == pytest.approx(1.0, abs=1e-12), key
        assert getattr(acc, f"{key}_max") < 1.0  # the holdout reference is a real, imperfect sample
    assert dist.ims_training == 1.0
    assert dist.dcr_training == 0.0
    assert dist.dcr_share == 1.0
    assert ev.metrics.similarity is not None
    assert ev.metrics.similarity.cosine_similarity_training_synthetic == pytest.approx(1.0)


def test_shuffled_columns_lose_bivariate_accuracy(frames, evaluation: Evaluation) -> None:
    trn, hol, syn = frames["training"], frames["holdout"], frames["synthetic"]
    rng = np.random.default_rng(3)
    shuffled = pd.DataFrame({c: syn[c].to_numpy()[rng.permutation(len(syn))] for c in syn.columns})
    intact = evaluation.metrics.accuracy
    broken = assess(shuffled, trn, hol).metrics.accuracy
    assert intact is not None and broken is not None
    assert broken.univariate == pytest.approx(intact.univariate, abs=1e-12)  # same marginals
    assert broken.bivariate < intact.bivariate - 0.1
    assert broken.trivariate < intact.trivariate - 0.1
