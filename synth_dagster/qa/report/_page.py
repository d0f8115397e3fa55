"""Assembles one self-contained HTML page: CSS and plotly.js inline, no request leaves the file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape
from typing import Literal

import plotly.graph_objects as go
import plotly.offline

from synth_dagster._version import __version__
from synth_dagster.qa.accuracy import MarginalAccuracy
from synth_dagster.qa.evaluation import Evaluation
from synth_dagster.qa.report import _figures as figs
from synth_dagster.qa.report._privacy import chance_limit, dp_reading, privacy_reading
from synth_dagster.qa.report._text import text_section

ReportKind = Literal["model", "data"]
_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}

_CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --syn:#12a06e; --trn:#8c95a6; --hol:#7b61d1; }
* { box-sizing: border-box; }
body { margin:0; font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
       color:var(--ink); background:#f6f7f9; line-height:1.45; }
header { background:#0f172a; color:#f8fafc; padding:28px 40px 22px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; }
header p { margin:0; color:#cbd5e1; font-size:13px; }
nav { position:sticky; top:0; z-index:5; background:#fff; border-bottom:1px solid var(--line);
      padding:8px 40px; font-size:13px; }
nav a { color:var(--ink); text-decoration:none; margin-right:18px; }
nav a:hover { color:var(--syn); }
main { max-width:1280px; margin:0 auto; padding:8px 40px 48px; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 22px;
          margin-top:20px; }
h2 { font-size:18px; margin:0 0 6px; }
h3 { font-size:14px; margin:18px 0 6px; }
p.lead { color:var(--muted); margin:0 0 12px; font-size:13px; max-width:900px; }
p.warning { background:#fff4e5; border-left:4px solid #f0a020; padding:8px 12px; font-size:13px; max-width:900px; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(180px,1fr)); gap:12px; }
.card { border:1px solid var(--line); border-radius:8px; padding:12px 14px; background:#fcfcfd; }
.card .label { font-size:12px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:26px; font-weight:650; margin-top:2px; }
.card .ref { font-size:12px; color:var(--muted); }
.card.main .value { color:var(--syn); }
.group-title { font-size:13px; font-weight:600; margin:14px 0 8px; color:#374151; }
.grid2 { display:grid; grid-template-columns:repeat(auto-fill,minmax(520px,1fr)); gap:10px 18px; }
.reading { background:#f0fdf4; border-left:4px solid var(--syn); padding:12px 16px; border-radius:4px;
           font-size:14px; max-width:1000px; }
.reading.warn { background:#fff7ed; border-left-color:#ea580c; }
table { border-collapse:collapse; font-size:13px; width:100%; }
th, td { text-align:left; padding:5px 10px; border-bottom:1px solid var(--line); }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.legend span { display:inline-block; margin-right:14px; font-size:12px; color:var(--muted); }
.legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:5px; }
footer { color:var(--muted); font-size:12px; max-width:1280px; margin:0 auto; padding:0 40px 40px; }
"""


def _fig(fig: go.Figure) -> str:
    return fig.to_html(include_plotlyjs=False, full_html=False, config=_CONFIG, default_width="100%")


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _num(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _card(label: str, value: str, ref: str | None = None, main: bool = False) -> str:
    ref_html = f'<div class="ref">{escape(ref)}</div>' if ref else '<div class="ref">&nbsp;</div>'
    return (
        f'<div class="card{" main" if main else ""}"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div>{ref_html}</div>'
    )


def _legend(show_holdout: bool) -> str:
    items = [("training", figs.TRAINING), ("synthetic", figs.SYNTHETIC)]
    if show_holdout:
        items.append(("holdout (reference)", figs.HOLDOUT))
    spans = "".join(f'<span><i style="background:{c}"></i>{escape(n)}</span>' for n, c in items)
    return f'<div class="legend">{spans}</div>'


def _headline(ev: Evaluation, show_holdout: bool) -> str:
    m = ev.metrics
    a, s, d = m.accuracy, m.similarity, m.distances

    def ref(v: float | None, fmt=_pct) -> str | None:
        return f"holdout {fmt(v)}" if show_holdout and v is not None else None

    acc_cards = []
    if a is not None:
        acc_cards.append(_card("Overall accuracy", _pct(a.overall), ref(a.overall_max), main=True))
        for key in ("univariate", "bivariate", "trivariate", "coherence"):
            value = getattr(a, key)
            if value is not None:
                acc_cards.append(_card(key.capitalize(), _pct(value), ref(getattr(a, f"{key}_max"))))
    sim_cards = []
    if s is not None:
        sim_cards.append(
            _card(
                "Centroid similarity",
                _num(s.cosine_similarity_training_synthetic, 4),
                ref(s.cosine_similarity_training_holdout, lambda v: _num(v, 4)),
            )
        )
        sim_cards.append(
            _card(
                "Discriminator AUC",
                _num(s.discriminator_auc_training_synthetic),
                ref(s.discriminator_auc_training_holdout, _num),
            )
        )
    dist_cards = []
    if d is not None:
        dist_cards.append(_card("Identical matches", _pct(d.ims_training), ref(d.ims_holdout)))
        dist_cards.append(_card("Distance to closest record", _num(d.dcr_training), ref(d.dcr_holdout, _num)))
        if d.dcr_share is not None:
            interval = ""
            if d.dcr_share_low is not None and d.dcr_share_high is not None:
                interval = f"95% interval {_pct(d.dcr_share_low)}–{_pct(d.dcr_share_high)}; "
            dist_cards.append(
                _card("DCR share", _pct(d.dcr_share), f"{interval}closer to training than holdout; ideal 50%")
            )
    blocks = [
        ("Accuracy — how closely low-dimensional distributions match", acc_cards),
        ("Similarity — the full records, in an embedding space", sim_cards),
        ("Distances — novelty and privacy", dist_cards),
    ]
    return "".join(
        f'<div class="group-title">{escape(t)}</div><div class="cards">{"".join(c)}</div>'
        for t, c in blocks
        if c
    )


def _accuracy_table(items: Iterable[MarginalAccuracy], kinds: dict[str, str], show_holdout: bool) -> str:
    head = "<th>column</th><th>type</th><th>accuracy</th>" + ("<th>holdout</th>" if show_holdout else "")
    rows = []
    for m in sorted(items, key=lambda m: m.accuracy):
        name = " × ".join(m.columns)
        kind = " × ".join(kinds.get(c, "") for c in m.columns)
        cells = f"<td>{escape(name)}</td><td>{escape(kind)}</td><td class='num'>{_pct(m.accuracy)}</td>"
        if show_holdout:
            cells += f"<td class='num'>{_pct(m.accuracy_max)}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _privacy_section(ev: Evaluation, show_holdout: bool, dp: tuple[float, float] | None = None) -> str:
    d, dr = ev.metrics.distances, ev.distances
    guarantee = f'<div class="reading">{escape(dp_reading(*dp))}</div>' if dp else ""
    if d is None or dr is None:
        return f'<section id="privacy"><h2>Privacy</h2>{guarantee}</section>' if dp else ""
    reading = privacy_reading(d, dr.n_records)
    warn = d.dcr_share is not None and d.dcr_share > chance_limit(dr.n_records)
    dcr = {"synthetic → training": dr.dcr_syn_trn}
    nndr = {"synthetic → training": dr.nndr_syn_trn}
    if show_holdout and dr.dcr_syn_hol is not None and dr.dcr_trn_hol is not None:
        dcr |= {"synthetic → holdout": dr.dcr_syn_hol, "training → holdout": dr.dcr_trn_hol}
        assert dr.nndr_syn_hol is not None and dr.nndr_trn_hol is not None
        nndr |= {"synthetic → holdout": dr.nndr_syn_hol, "training → holdout": dr.nndr_trn_hol}
    rows = [
        ("identical match share", _pct(d.ims_training), _pct(d.ims_holdout), _pct(d.ims_trn_hol)),
        (
            "mean distance to closest record (DCR)",
            _num(d.dcr_training),
            _num(d.dcr_holdout),
            _num(d.dcr_trn_hol),
        ),
        ("10th percentile of NNDR", _num(d.nndr_training), _num(d.nndr_holdout), _num(d.nndr_trn_hol)),
    ]
    if show_holdout:
        head = "<th></th><th>synthetic → training</th><th>synthetic → holdout</th><th>training → holdout</th>"
        body = "".join(
            f"<tr><td>{escape(r[0])}</td>" + "".join(f"<td class='num'>{v}</td>" for v in r[1:]) + "</tr>"
            for r in rows
        )
    else:
        head = "<th></th><th>synthetic → training</th>"
        body = "".join(f"<tr><td>{escape(r[0])}</td><td class='num'>{r[1]}</td></tr>" for r in rows)
    return f"""
<section id="privacy"><h2>Privacy</h2>
<p class="lead">Nearest-neighbour distances between {dr.n_records:,} sampled records per dataset, in a numeric
encoding where every column spans 0 to 1 (numbers by their percentile, categories one-hot).</p>
{guarantee}
<div class="reading{" warn" if warn else ""}">{escape(reading)}</div>
<h3>Figures</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<div class="grid2">
{_fig(figs.distance_histogram(dcr, "Distance to closest record (DCR)", "distance"))}
{_fig(figs.distance_histogram(nndr, "Nearest-neighbour distance ratio (NNDR)", "closest / second-closest distance"))}
</div></section>"""


def _relations_section(ev: Evaluation, show_holdout: bool) -> str:
    relations = ev.metrics.relations
    if not relations:
        return ""
    joined_head = "synthetic / training / holdout" if show_holdout else "synthetic / training"
    head = (
        "<th>foreign key</th><th>parent table</th><th>pairs</th><th>accuracy</th>"
        + ("<th>holdout</th>" if show_holdout else "")
        + f"<th>referential integrity</th><th>joined rows ({joined_head})</th>"
    )
    rows = []
    for r in relations:
        joined = [r.synthetic_joined_rows, r.training_joined_rows]
        if show_holdout:
            joined.append(r.holdout_joined_rows)
        cells = (
            f"<td>{escape(r.foreign_key)}</td><td>{escape(r.referenced_table or '–')}</td>"
            f"<td class='num'>{r.n_pairs}</td><td class='num'>{_pct(r.bivariate)}</td>"
        )
        if show_holdout:
            cells += f"<td class='num'>{_pct(r.bivariate_max)}</td>"
        cells += f"<td class='num'>{_pct(r.referential_integrity)}</td>"
        cells += f"<td class='num'>{' / '.join('–' if n is None else f'{n:,}' for n in joined)}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return f"""
<section id="relations"><h2>Relations</h2>
<p class="lead">Each row of this table joined with the parent row its foreign key references: the mean bivariate
accuracy of every (column, parent column) pair. Referential integrity is the share of synthetic keys that find
their parent; rows with a missing or dangling key are left out of the join.</p>
<table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></section>"""


def render(
    ev: Evaluation,
    kind: ReportKind,
    title: str | None,
    subtitle: str | None,
    differential_privacy: tuple[float, float] | None = None,
) -> str:
    show_holdout = ev.has_holdout  # a data report shows the references too when the holdout is known
    title = title or ("Model report" if kind == "model" else "Data report")
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sizes = ev.sizes
    counts = (
        f"{sizes.get('training_records', 0):,} training · {sizes.get('synthetic_records', 0):,} synthetic"
    )
    if ev.has_holdout:
        counts += f" · {sizes.get('holdout_records', 0):,} holdout"
    meta = " · ".join(
        x for x in (subtitle, counts + (" sequences" if ev.is_sequential else " records"), created) if x
    )
    intro = (
        "Training data vs holdout data vs a synthetic sample: the holdout was kept aside during training, "
        "so its figures show what a perfect generator would reach."
        if kind == "model"
        else "A synthetic dataset compared with the generator's training data."
    )
    kinds = {c: b.kind for c, b in ev.binning.columns.items()}
    uni = {m.columns[0]: m for m in ev.univariate}
    pairs = {m.columns: m for m in ev.bivariate}

    univariate_divs = "".join(_fig(figs.univariate(ev, c, uni.get(c), show_holdout)) for c in ev.columns)
    pair_divs = "".join(
        _fig(figs.pair_heatmaps(ev, p, pairs.get(p) or pairs.get((p[1], p[0]))))
        for p in ev.pair_distributions
    )
    worst_pairs = sorted(ev.bivariate, key=lambda m: m.accuracy)[:15]
    coherence = ""
    if ev.coherence:
        coherence = f"""
<section id="coherence"><h2>Coherence</h2>
<p class="lead">Distribution of successive value pairs within each sequence (value at step t, value at t + 1),
per column.</p>{_fig(figs.accuracy_bars(ev.coherence, show_holdout, "Coherence accuracy per column"))}</section>"""
    nav = [
        ("summary", "Summary"),
        ("privacy", "Privacy"),
        ("accuracy", "Accuracy"),
        ("univariate", "Univariate"),
        ("bivariate", "Bivariate"),
        ("correlations", "Correlations"),
    ]
    if ev.coherence:
        nav.append(("coherence", "Coherence"))
    if ev.metrics.relations:
        nav.append(("relations", "Relations"))
    if ev.text:
        nav.append(("text", "Text"))
    nav_html = "".join(f'<a href="#{k}">{v}</a>' for k, v in nav)
    warnings = "".join(f'<p class="warning">{escape(w)}</p>' for w in ev.metrics.warnings)
    plotly_js = plotly.offline.get_plotlyjs()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_CSS}</style>
<script type="text/javascript">{plotly_js}</script>
</head><body>
<header><h1>{escape(title)}</h1><p>{escape(meta)}</p></header>
<nav>{nav_html}</nav>
<main>
<section id="summary"><h2>Summary</h2><p class="lead">{escape(intro)}</p>{warnings}{_headline(ev, show_holdout)}</section>
{_privacy_section(ev, show_holdout, differential_privacy)}
<section id="accuracy"><h2>Accuracy</h2>
<p class="lead">Accuracy is 100% minus the total variation distance between the binned distributions of the
synthetic and the training data: numbers and dates in 10 quantile bins, categories as their 10 most frequent
values plus "other", and a bin for missing values.</p>
<div class="grid2">
<div>{_fig(figs.accuracy_bars(ev.univariate, show_holdout, "Univariate accuracy per column (worst first)"))}</div>
<div>{_fig(figs.pair_accuracy_matrix(ev))}</div>
</div>
<div class="grid2">
<div><h3>Columns</h3>{_accuracy_table(ev.univariate, kinds, show_holdout)}</div>
<div><h3>Weakest pairs</h3>{_accuracy_table(worst_pairs, kinds, show_holdout)}</div>
</div></section>
<section id="univariate"><h2>Univariate distributions</h2>
<p class="lead">Every column, binned as for the accuracy figures.</p>{_legend(show_holdout)}
<div class="grid2">{univariate_divs}</div></section>
<section id="bivariate"><h2>Bivariate distributions</h2>
<p class="lead">The {len(ev.pair_distributions)} most strongly associated column pairs in the training data,
training beside synthetic on one colour scale.</p><div class="grid2">{pair_divs}</div></section>
<section id="correlations"><h2>Correlations</h2>
<p class="lead">Cramér's V between binned columns (0: independent, 1: one determines the other).</p>
{_fig(figs.association_matrices(ev))}</section>
{coherence}
{_relations_section(ev, show_holdout)}
{text_section(ev.text, ev.has_holdout)}
</main>
<footer>synth_dagster {escape(__version__)} · embedding: {escape(ev.embedding)} ·
accuracy on {sizes.get("synthetic_accuracy_sample", 0):,} synthetic records, computed in {ev.elapsed_seconds:.1f} s.</footer>
</body></html>
"""
