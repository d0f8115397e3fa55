"""Bad input gets a specific, actionable error; awkward but valid input still works."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from synth_dagster.domain.metrics import Accuracy, Distances, ModelMetrics, Similarity
from synth_dagster.qa import Context, assess
from synth_dagster.qa.binning import fit_column


def _df(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["x", "y"], n)})


def test_missing_column_names_the_column() -> None:
    with pytest.raises(ValueError, match=r"synthetic lacks the column\(s\) \['b'\]"):
        assess(_df()[["a"]], _df())


def test_not_a_frame_and_empty_frame() -> None:
    with pytest.raises(TypeError, match="synthetic must be a pandas DataFrame"):
        assess([1, 2], _df())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="holdout has no rows"):
        assess(_df(), _df(), _df().iloc[:0])


def test_context_needs_key_and_all_frames() -> None:
    ctx = Context(synthetic=_df(), training=_df(), primary_key="a")
    with pytest.raises(ValueError, match="context_key is not"):
        assess(_df(), _df(), context=ctx)
    with pytest.raises(ValueError, match="context_key is given but context is not"):
        assess(_df(), _df(), context_key="a")
    with pytest.raises(ValueError, match="context.holdout is not"):
        assess(_df(), _df(), _df(), context=ctx, context_key="a")


def test_awkward_columns_stillassess() -> None:
    """All-missing, constant, bool, tz-aware dates, and a synthetic numeric column typed as text."""
    n = 80
    rng = np.random.default_rng(1)
    trn = pd.DataFrame(
        {
            "empty": np.full(n, np.nan),
            "const": np.ones(n),
            "flag": rng.random(n) < 0.5,
            "when": pd.date_range("2024-01-01", periods=n, freq="h", tz="Europe/Vienna"),
            "num": rng.integers(0, 5, n),
        }
    )
    syn = trn.sample(frac=1.0, random_state=2).reset_index(drop=True)
    syn["num"] = syn["num"].astype(str)
    m = assess(syn, trn).metrics
    assert m.accuracy is not None and m.accuracy.univariate == pytest.approx(1.0)


def test_tiny_data_leaves_discriminator_empty() -> None:
    m = assess(_df(6, 1), _df(6, 2), _df(6, 3)).metrics
    assert m.similarity is not None and m.similarity.discriminator_auc_training_synthetic is None
    assert m.accuracy is not None and m.accuracy.overall is not None


def test_no_holdout_leaves_references_empty() -> None:
    m = assess(_df(seed=1), _df(seed=2)).metrics
    assert m.accuracy is not None and m.distances is not None and m.similarity is not None
    assert m.accuracy.overall_max is None and m.accuracy.univariate_max is None
    assert m.distances.dcr_share is None and m.distances.ims_holdout is None
    assert m.similarity.discriminator_auc_training_holdout is None


def test_sampling_caps_and_is_reproducible() -> None:
    big = _df(3_000, 1)
    a = assess(
        big, _df(3_000, 2), _df(3_000, 3), max_sample_size=500, max_distance_sample_size=200, random_state=5
    )
    b = assess(
        big, _df(3_000, 2), _df(3_000, 3), max_sample_size=500, max_distance_sample_size=200, random_state=5
    )
    assert a.metrics == b.metrics
    assert a.sizes["synthetic_accuracy_sample"] == 500 and a.sizes["distance_sample"] == 200


def test_holdout_reference_uses_the_synthetic_sample_size() -> None:
    """A larger holdout is sampled down: `*_max` is the figure of a same-sized holdout."""
    ev = assess(_df(100, 1), _df(2_000, 2), _df(1_000, 3))
    assert ev.sizes["holdout_accuracy_sample"] == ev.sizes["synthetic_accuracy_sample"] == 100


def test_binning_handles_ties_and_missing() -> None:
    # 60% zeros: deciles 10..60 coincide, so the zeros get one bin of their own.
    s = pd.Series([0.0] * 60 + list(range(1, 41)) + [np.nan] * 5)
    bins = fit_column("v", "numeric", s, None)
    codes = bins.codes(s)
    assert len(set(bins.edges.tolist())) == len(bins.edges)  # duplicate edges collapsed
    assert (codes[:60] == 0).all() and (codes[60:100] > 0).all()
    assert (codes[100:] == bins.na_code).all() and bins.labels[-1] == "(n/a)"
    # every value held by 5 records (value protection keeps values of fewer records out of labels)
    cats = fit_column("c", "categorical", pd.Series(list("abcdefghijkl") * 5 + ["a", None]), None)
    assert cats.categories == tuple("abcdefghij")  # "a" most frequent, then ties by value
    assert cats.codes(pd.Series(["k", None, "zz"])).tolist() == [10, 11, 10]


def test_domain_models_mirror_the_reference() -> None:
    assert list(Accuracy.model_fields) == [
        "overall", "univariate", "bivariate", "trivariate", "coherence",
        "overall_max", "univariate_max", "bivariate_max", "trivariate_max", "coherence_max",
        "overall_gap_low", "overall_gap_high",  # ours, after the reference's: the gap's interval
    ]  # fmt: skip
    assert list(Similarity.model_fields) == [
        "cosine_similarity_training_synthetic", "cosine_similarity_training_holdout",
        "discriminator_auc_training_synthetic", "discriminator_auc_training_holdout",
    ]  # fmt: skip
    assert list(Distances.model_fields) == [
        "ims_training", "ims_holdout", "ims_trn_hol", "dcr_training", "dcr_holdout", "dcr_trn_hol",
        "dcr_share", "nndr_training", "nndr_holdout", "nndr_trn_hol",
        "dcr_share_low", "dcr_share_high",  # ours, after the reference's: dcr_share's interval
    ]  # fmt: skip
    # the reference's three; ours: `relations` (foreign keys) and the holdout size the figures rest on
    assert set(ModelMetrics.model_fields) == {
        "accuracy",
        "distances",
        "similarity",
        "relations",
        "holdout_records",
    }
    m = ModelMetrics(accuracy={"overall": 0.9}, distances={"dcr_share": 0.5})
    assert ModelMetrics.model_validate_json(m.model_dump_json()) == m
    with pytest.raises(ValidationError):
        Accuracy(overall=1.2)
    with pytest.raises(ValidationError):
        Accuracy(overal=0.9)  # a typo is an error, not a silently missing figure


def test_external_embedder_is_used_and_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def letters(texts: list[str]) -> np.ndarray:
        """A toy text embedding: letter counts."""
        seen.extend(texts[:1])
        return np.array([[t.count(ch) for ch in "abxy-.0123456789"] for t in texts], dtype=float)

    ev = assess(_df(seed=1), _df(seed=2), _df(seed=3), embedder=letters)
    assert ev.embedding == "letters"
    assert seen and seen[0].startswith("a: ") and ", b: " in seen[0]  # records as "column: value" text
    assert ev.metrics.similarity is not None
    assert ev.metrics.similarity.discriminator_auc_training_synthetic is not None

    # Nothing on disk: the built-in encoding, said so; a named directory that is missing: an error.
    monkeypatch.setenv("SYNTH_DAGSTER_EMBEDDING_MODEL", "/nonexistent/model")
    assert assess(_df(seed=1), _df(seed=2)).embedding.startswith("built-in")
    with pytest.raises(FileNotFoundError, match="/nonexistent/model"):
        assess(_df(seed=1), _df(seed=2), embedder="/nonexistent/model")
