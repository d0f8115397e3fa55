"""Self-contained HTML quality reports (offline: plotly.js is inlined once, no CDN)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from synth_dagster.qa.evaluation import Evaluation


def write_html(html: str, path: str | os.PathLike[str]) -> Path:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read by others
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _render(
    evaluation: Evaluation,
    kind: str,
    path: str | os.PathLike[str] | None,
    title: str | None,
    subtitle: str | None,
    differential_privacy: tuple[float, float] | None = None,
) -> str:
    if not isinstance(evaluation, Evaluation):
        raise TypeError(
            f"expected an Evaluation from synth_dagster.qa.assess(...), got {type(evaluation).__name__}"
        )
    from synth_dagster.qa.report._page import render  # plotly loads only when a report is made

    html = render(evaluation, kind, title, subtitle, differential_privacy)  # type: ignore[arg-type]
    if path is not None:
        write_html(html, path)
    return html


def model_report(
    evaluation: Evaluation,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    differential_privacy: tuple[float, float] | None = None,
) -> str:
    """Training vs holdout vs a synthetic sample, with holdout references. Returns the HTML.
    `differential_privacy`: (ε spent, δ) of a model trained with it, explained in the privacy section."""
    return _render(evaluation, "model", path, title or "Model report", subtitle, differential_privacy)


def data_report(
    evaluation: Evaluation,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str | None = None,
    subtitle: str | None = None,
) -> str:
    """A synthetic dataset vs the training data. Returns the HTML."""
    return _render(evaluation, "data", path, title or "Data report", subtitle)


__all__ = ["data_report", "model_report", "write_html"]
