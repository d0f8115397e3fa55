"""The HTML reports: self-contained, offline, written atomically, and error-free in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import qa_chromium

from synth_dagster.qa import Evaluation, assess, data_report, model_report, write_html
from synth_dagster.qa.report._privacy import privacy_reading

needs_chromium = pytest.mark.skipif(
    not qa_chromium.available(),
    reason="Debian's chromium is not installed (apt-get install chromium chromium-driver); .ci/run installs it",
)
PLOTLY_BANNER = "plotly.js v"  # the first line of the bundled library


@pytest.fixture(scope="module")
def reports(
    tmp_path_factory: pytest.TempPathFactory, triple_evaluation: Evaluation, triple
) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    trn, _, syn = triple
    model_report(triple_evaluation, out / "model.html", subtitle="diamonds")
    data_report(assess(syn, trn), out / "data.html", subtitle="diamonds")
    return {"model": out / "model.html", "data": out / "data.html"}


@pytest.mark.parametrize("kind", ["model", "data"])
def test_report_is_self_contained(reports: dict[str, Path], kind: str) -> None:
    html = reports[kind].read_text(encoding="utf-8")
    assert html.count(PLOTLY_BANNER) == 1, "plotly.js must be inlined exactly once"
    assert not re.search(r"<script[^>]+\bsrc\s*=", html), "no external scripts"
    assert not re.search(r"<link[^>]+\bhref\s*=\s*[\"']https?:", html), "no external stylesheets"
    assert "@import" not in html
    # Every section the issue asks for.
    for anchor in ("summary", "privacy", "accuracy", "univariate", "bivariate", "correlations"):
        assert f'id="{anchor}"' in html, anchor


def test_model_report_shows_holdout_references(
    reports: dict[str, Path], triple_evaluation: Evaluation
) -> None:
    html = reports["model"].read_text(encoding="utf-8")
    acc = triple_evaluation.metrics.accuracy
    assert acc is not None and acc.overall_max is not None
    assert f"holdout {acc.overall_max:.1%}" in html
    assert "synthetic → holdout" in html  # DCR / NNDR histograms carry the references
    assert "Data report" in reports["data"].read_text(encoding="utf-8")


@needs_chromium
@pytest.mark.parametrize("kind", ["model", "data"])
def test_report_opens_offline_without_console_errors(reports: dict[str, Path], kind: str) -> None:
    errors, divs, drawn, log = qa_chromium.console_report(reports[kind])
    assert divs > 0, f"no plots found, or the page did not load; chromium said:\n{log[-3000:]}"
    assert errors == []
    assert drawn == divs, f"only {drawn} of {divs} plots rendered"


@needs_chromium
def test_console_check_catches_errors(tmp_path: Path) -> None:
    """The check itself: a page with a script error and a CDN script is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><head></head><body><script>notDefined();</script>"
        '<script src="https://cdn.plot.ly/plotly-2.0.0.min.js"></script></body></html>'
    )
    errors, *_ = qa_chromium.console_report(page)
    assert any("notDefined" in e for e in errors)
    assert any("failed to load https://cdn.plot.ly" in e for e in errors)


def test_write_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    write_html("<html>old</html>", target)
    assert target.read_text() == "<html>old</html>"
    with pytest.raises(TypeError):
        write_html(123, target)  # type: ignore[arg-type]  # fails half-way through the write
    assert target.read_text() == "<html>old</html>", "a failed write must leave the old report intact"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"], "no temp files left behind"


def test_report_rejects_frames_instead_of_evaluation(triple) -> None:
    with pytest.raises(TypeError, match="assess"):
        model_report(triple[0])  # type: ignore[arg-type]


def test_privacy_reading_flags_copies(copy_evaluation: Evaluation, triple_evaluation: Evaluation) -> None:
    copied = copy_evaluation.metrics.distances
    fresh = triple_evaluation.metrics.distances
    assert copied is not None and fresh is not None
    assert "more than chance explains" in privacy_reading(copied, 6_000)
    assert "no sign that it memorized" in privacy_reading(fresh, 6_000)


@needs_chromium
def test_markup_in_column_names_is_escaped(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    evil = "<img src=x onerror=alert(1)>"
    df = pd.DataFrame({evil: rng.choice(["a", "b"], 200), "x": rng.normal(size=200)})
    html = model_report(assess(df.iloc[:100], df.iloc[100:]), tmp_path / "r.html")
    assert evil not in html
    errors, divs, drawn, _ = qa_chromium.console_report(tmp_path / "r.html")
    assert errors == [] and divs == drawn > 0
