"""The text section of a report: per free-text column its figures and sample texts beside real ones."""

from __future__ import annotations

import math
from html import escape

from synth_dagster.qa.text import TextSection

_SAMPLE_CHARS = 300  # a long text is cut in the page; the figures use all of it


def _value(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.3f}"


def _column(section: TextSection, reference: str) -> str:
    q = section.quality
    rows = [
        ("Length accuracy", q.length_accuracy, "1 − TVD of the character-length deciles"),
        (
            "Term accuracy",
            q.term_accuracy,
            f"most frequent words; {reference} vs training: {_value(q.term_accuracy_max)}",
        ),
        (
            "Discriminator AUC",
            q.discriminator_auc,
            "character n-grams, logistic regression; 0.5: indistinguishable",
        ),
        ("Exact training copies", q.training_copies, "share of synthetic texts equal to a training text"),
        (
            "Exact holdout matches",
            q.holdout_matches,
            "the same against the holdout: copies at chance level when no higher",
        ),
        *((f"Length × {c}", v, "1 − TVD of (length bin, category)") for c, v in section.length_by.items()),
    ]
    figures = "".join(
        f"<tr><td>{escape(label)}</td><td>{_value(v)}</td><td>{escape(note)}</td></tr>"
        for label, v, note in rows
    )
    samples = "".join(
        f"<tr><td>{escape(s[:_SAMPLE_CHARS])}</td><td>{escape(r[:_SAMPLE_CHARS])}</td></tr>"
        for s, r in section.samples
    )
    return f"""<h3>{escape(section.column)}</h3>
<table class="text-figures"><thead><tr><th>Figure</th><th>Synthetic</th><th>What it is</th></tr></thead>
<tbody>{figures}</tbody></table>
<table class="text-samples"><thead><tr><th>Synthetic text</th><th>Real text ({escape(reference)})</th></tr></thead>
<tbody>{samples}</tbody></table>"""


def text_section(sections: list[TextSection], has_holdout: bool) -> str:
    if not sections:
        return ""
    reference = "holdout" if has_holdout else "training"
    body = "".join(_column(s, reference) for s in sections)
    return f"""<section id="text"><h2>Text</h2>
<p class="lead">Free-text columns against the {reference} texts, and a few synthetic texts beside real ones
(drawn at random, not paired).</p>{body}</section>"""
