"""Plotly figures of an Evaluation. Each returns a Figure; the page turns it into a <div>."""

from __future__ import annotations

from html import escape

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from synth_dagster.qa.accuracy import MarginalAccuracy
from synth_dagster.qa.evaluation import Evaluation

TRAINING = "#8c95a6"
SYNTHETIC = "#12a06e"
HOLDOUT = "#7b61d1"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif"
ACCURACY_SCALE = [[0.0, "#c2410c"], [0.5, "#facc15"], [1.0, "#15803d"]]
FREQ_SCALE = [[0.0, "#f7fafc"], [1.0, "#0b6e4f"]]


def _layout(fig: go.Figure, height: int, title: str | None = None, **kwargs: object) -> go.Figure:
    fig.update_layout(
        height=height,
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": 14}} if title else None,
        font={"family": FONT, "size": 11, "color": "#1f2937"},
        margin={"l": 50, "r": 20, "t": 44 if title else 16, "b": 40},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        **kwargs,
    )
    fig.update_xaxes(showline=True, linecolor="#d1d5db", gridcolor="#f1f5f9", automargin=True)
    fig.update_yaxes(showline=False, gridcolor="#eef2f7", zeroline=False, automargin=True)
    return fig


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def univariate(ev: Evaluation, column: str, item: MarginalAccuracy | None, show_holdout: bool) -> go.Figure:
    """Binned distribution of one column: training vs synthetic (and holdout as markers)."""
    labels = list(ev.binning.columns[column].labels)
    dist = ev.distributions[column]
    keep = [i for i in range(len(labels)) if any(d[i] > 0 for d in dist.values())]  # hide empty bins
    x = [labels[i] for i in keep]
    fig = go.Figure()
    fig.add_bar(x=x, y=dist["training"][keep], name="training", marker_color=TRAINING)
    fig.add_bar(x=x, y=dist["synthetic"][keep], name="synthetic", marker_color=SYNTHETIC)
    if show_holdout and "holdout" in dist:
        fig.add_scatter(
            x=x,
            y=dist["holdout"][keep],
            name="holdout",
            mode="markers",
            marker={"color": HOLDOUT, "symbol": "line-ew-open", "size": 14, "line": {"width": 3}},
        )
    title = f"<b>{escape(column)}</b>"
    if item is not None:
        title += f"  ·  accuracy {_pct(item.accuracy)}"
        if show_holdout and item.accuracy_max is not None:
            title += f" (holdout {_pct(item.accuracy_max)})"
    _layout(fig, 300, title, barmode="group", bargap=0.25, showlegend=False)
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category", tickangle=-30 if len(x) > 6 else 0)
    return fig


def accuracy_bars(items: list[MarginalAccuracy], show_holdout: bool, title: str) -> go.Figure:
    """Accuracy per column (worst first), with the holdout reference as a marker."""
    items = sorted(items, key=lambda m: m.accuracy)
    names = [" × ".join(m.columns) for m in items]
    fig = go.Figure()
    fig.add_bar(
        y=names,
        x=[m.accuracy for m in items],
        orientation="h",
        name="synthetic",
        marker_color=SYNTHETIC,
        text=[_pct(m.accuracy) for m in items],
        textposition="inside",
        insidetextanchor="end",
    )
    if show_holdout and all(m.accuracy_max is not None for m in items):
        fig.add_scatter(
            y=names,
            x=[m.accuracy_max for m in items],
            mode="markers",
            name="holdout reference",
            marker={"color": HOLDOUT, "symbol": "line-ns-open", "size": 16, "line": {"width": 3}},
        )
    lo = min([m.accuracy for m in items] + [m.accuracy_max or 1.0 for m in items])
    _layout(fig, max(220, 26 * len(items) + 80), title)
    fig.update_xaxes(range=[max(0.0, lo - 0.05), 1.0], tickformat=".0%")
    fig.update_yaxes(autorange="reversed", type="category")  # worst on top
    return fig


def pair_accuracy_matrix(ev: Evaluation) -> go.Figure:
    """Bivariate accuracy of every evaluated pair; the diagonal shows univariate accuracy."""
    cols = ev.columns
    idx = {c: i for i, c in enumerate(cols)}
    m = np.full((len(cols), len(cols)), np.nan)
    for item in ev.univariate:
        i = idx[item.columns[0]]
        m[i, i] = item.accuracy
    for item in ev.bivariate:
        i, j = idx[item.columns[0]], idx[item.columns[1]]
        m[i, j] = m[j, i] = item.accuracy
    text = np.where(np.isnan(m), "", np.vectorize(lambda v: f"{v:.0%}")(np.nan_to_num(m)))
    fig = go.Figure(
        go.Heatmap(
            z=m,
            x=cols,
            y=cols,
            zmin=max(0.0, min(0.9, float(np.nanmin(m)) - 0.02)),
            zmax=1.0,
            colorscale=ACCURACY_SCALE,
            text=text,
            texttemplate="%{text}" if len(cols) <= 16 else None,
            hovertemplate="%{y} × %{x}: %{z:.1%}<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    _layout(fig, max(360, 24 * len(cols) + 140), None)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-40)
    return fig


def pair_heatmaps(ev: Evaluation, pair: tuple[str, str], item: MarginalAccuracy | None) -> go.Figure:
    """2D binned distribution of one pair, training beside synthetic, on one colour scale."""
    a, b = pair
    cells = ev.pair_distributions[pair]
    rows = [
        i
        for i in range(cells["training"].shape[0])
        if cells["training"][i].sum() + cells["synthetic"][i].sum() > 0
    ]
    cols = [
        j
        for j in range(cells["training"].shape[1])
        if cells["training"][:, j].sum() + cells["synthetic"][:, j].sum() > 0
    ]
    ya = [ev.binning.columns[a].short_labels[i] for i in rows]
    xb = [ev.binning.columns[b].short_labels[j] for j in cols]
    zmax = max(float(cells["training"].max()), float(cells["synthetic"].max()))
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("training", "synthetic"), horizontal_spacing=0.04, shared_yaxes=True
    )
    for k, name in enumerate(("training", "synthetic")):
        z = cells[name][np.ix_(rows, cols)]
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=xb,
                y=ya,
                zmin=0.0,
                zmax=zmax,
                colorscale=FREQ_SCALE,
                showscale=k == 1,
                hovertemplate=f"{a} %{{y}}<br>{b} %{{x}}<br>%{{z:.2%}}<extra>{name}</extra>",
                colorbar={"tickformat": ".0%"},
            ),
            row=1,
            col=k + 1,
        )
    title = f"<b>{escape(a)}</b> × <b>{escape(b)}</b>"
    if item is not None:
        title += f"  ·  accuracy {_pct(item.accuracy)}"
        if item.accuracy_max is not None:
            title += f" (holdout {_pct(item.accuracy_max)})"
    _layout(fig, 400, title)
    fig.update_xaxes(type="category", tickangle=-45, title_text=b, tickfont={"size": 9})
    fig.update_yaxes(type="category", tickfont={"size": 9})
    fig.update_yaxes(title_text=a, col=1)
    return fig


def association_matrices(ev: Evaluation) -> go.Figure:
    """Cramér's V between binned columns, training beside synthetic."""
    cols = ev.columns
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training", "synthetic"), horizontal_spacing=0.14)
    for k, name in enumerate(("training", "synthetic")):
        fig.add_trace(
            go.Heatmap(
                z=ev.associations[name],
                x=cols,
                y=cols,
                zmin=0.0,
                zmax=1.0,
                colorscale="Blues",
                showscale=k == 1,
                hovertemplate="%{y} × %{x}: %{z:.2f}<extra>" + name + "</extra>",
            ),
            row=1,
            col=k + 1,
        )
    _layout(fig, max(380, 22 * len(cols) + 160), None)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-40)
    fig.update_yaxes(showticklabels=False, col=2)
    return fig


def distance_histogram(series: dict[str, np.ndarray], title: str, x_title: str) -> go.Figure:
    """Overlaid histograms (same bins) of per-record nearest-neighbour figures."""
    colors = {
        "synthetic → training": SYNTHETIC,
        "synthetic → holdout": HOLDOUT,
        "training → holdout": TRAINING,
    }
    allv = np.concatenate(list(series.values()))
    hi = float(np.quantile(allv, 0.995)) if len(allv) else 1.0
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, 41)
    fig = go.Figure()
    for name, values in series.items():
        counts, _ = np.histogram(np.clip(values, 0.0, edges[-1]), bins=edges)
        fig.add_scatter(
            x=(edges[:-1] + edges[1:]) / 2,
            y=counts / max(len(values), 1),
            name=name,
            mode="lines",
            line={"color": colors.get(name, SYNTHETIC), "width": 2, "shape": "hvh"},
            fill="tozeroy" if name.startswith("synthetic → training") else None,
        )
    _layout(fig, 300, title)
    fig.update_yaxes(tickformat=".0%", title_text="share of records")
    fig.update_xaxes(title_text=x_title)
    return fig
