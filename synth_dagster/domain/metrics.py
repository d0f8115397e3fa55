"""Quality metrics of synthetic data: the result vocabulary of `synth_dagster.qa`.

Field names mirror the reference schema (ModelMetrics, Accuracy, Similarity, Distances) so that
stored metrics read the same as the reference platform's. Every figure is optional: a figure that
does not apply (e.g. `coherence` for flat tables, `*_max` without a holdout) stays `None`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Shares, accuracies and AUCs live in [0, 1]; say so at the boundary so a bug cannot hide as 1.3.
_Share = Field(default=None, ge=0.0, le=1.0)


class _Metrics(BaseModel):
    # extra="forbid": a misspelt field in a stored metrics dict is an error, not a silent None.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Accuracy(_Metrics):
    """Closeness of discretized low-dimensional marginals: 1 - total variation distance.

    `overall` averages univariate, bivariate and (for sequences) coherence. Each `*_max` is the same
    figure for a same-sized holdout: the level a perfect generator would reach.
    """

    overall: float | None = _Share
    univariate: float | None = _Share
    bivariate: float | None = _Share
    trivariate: float | None = _Share
    coherence: float | None = _Share
    overall_max: float | None = _Share
    univariate_max: float | None = _Share
    bivariate_max: float | None = _Share
    trivariate_max: float | None = _Share
    coherence_max: float | None = _Share
    # 95% interval of the gap overall_max - overall (a bootstrap over the compared records): the
    # accuracy gate fails only when it lies wholly beyond the allowed gap.
    overall_gap_low: float | None = Field(default=None, ge=-1.0, le=1.0)
    overall_gap_high: float | None = Field(default=None, ge=-1.0, le=1.0)


class Similarity(_Metrics):
    """Similarity of the full joint distributions in an embedding space."""

    # Cosine similarity may be negative for an arbitrary external embedding.
    cosine_similarity_training_synthetic: float | None = Field(default=None, ge=-1.0, le=1.0)
    cosine_similarity_training_holdout: float | None = Field(default=None, ge=-1.0, le=1.0)
    discriminator_auc_training_synthetic: float | None = _Share
    discriminator_auc_training_holdout: float | None = _Share


class Distances(_Metrics):
    """Nearest-neighbour distances between training, holdout and synthetic samples (privacy)."""

    ims_training: float | None = _Share
    ims_holdout: float | None = _Share
    ims_trn_hol: float | None = _Share
    dcr_training: float | None = Field(default=None, ge=0.0)
    dcr_holdout: float | None = Field(default=None, ge=0.0)
    dcr_trn_hol: float | None = Field(default=None, ge=0.0)
    dcr_share: float | None = _Share
    nndr_training: float | None = Field(default=None, ge=0.0, le=1.0)
    nndr_holdout: float | None = Field(default=None, ge=0.0, le=1.0)
    nndr_trn_hol: float | None = Field(default=None, ge=0.0, le=1.0)
    # beyond the reference's fields: the 95% Wilson interval of dcr_share over the compared records
    # (as many as the holdout, capped)
    dcr_share_low: float | None = _Share
    dcr_share_high: float | None = _Share


class RelationAccuracy(_Metrics):
    """Accuracy of a foreign-key relation: every child column paired with every parent column.

    Child rows are joined with the parent row their `foreign_key` references; rows whose key is null
    or matches no parent are left out. `bivariate` is the mean accuracy of those pairs (synthetic vs
    training), `bivariate_max` the same for the holdout. `referential_integrity` is the share of the
    synthetic child's non-null keys found among the synthetic parent's primary keys.
    """

    foreign_key: str
    referenced_table: str | None = None
    bivariate: float | None = _Share
    bivariate_max: float | None = _Share
    n_pairs: int = Field(default=0, ge=0)
    referential_integrity: float | None = _Share
    # rows of each child that joined with a parent (before any sampling)
    synthetic_joined_rows: int = Field(default=0, ge=0)
    training_joined_rows: int = Field(default=0, ge=0)
    holdout_joined_rows: int | None = Field(default=None, ge=0)


class ModelMetrics(_Metrics):
    """Quality of synthetic data in terms of accuracy, similarity and distances.

    `relations` (our addition to the reference schema): one entry per non-context foreign key of the
    table; None for tables without such keys.
    """

    accuracy: Accuracy | None = None
    distances: Distances | None = None
    similarity: Similarity | None = None
    relations: list[RelationAccuracy] | None = None
    # records (rows, or sequences) of the holdout the figures were measured on; our addition
    holdout_records: int | None = Field(default=None, ge=0)

    @property
    def warnings(self) -> list[str]:
        """What a reader must know before trusting the figures (e.g. a holdout too small)."""
        return quality_warnings(self.holdout_records)


# Below this many holdout records the figures are noisy: the DCR share's 95% interval is wider
# than +-0.07 and the accuracies of the holdout and of the synthetic sample move by several points
# from one split or run to the next.
MIN_RELIABLE_HOLDOUT = 200


class AccuracyFigure(float):
    """An overall accuracy that says, in its repr, what it is compared with and when to doubt it."""

    holdout_reference: float | None
    warnings: tuple[str, ...]

    def __new__(
        cls, value: float, holdout_reference: float | None = None, warnings: list[str] | tuple[str, ...] = ()
    ) -> AccuracyFigure:
        figure = super().__new__(cls, value)
        figure.holdout_reference = holdout_reference
        figure.warnings = tuple(warnings)
        return figure

    def __repr__(self) -> str:
        text = f"{float(self):.3f}"
        notes = [] if self.holdout_reference is None else [f"holdout reference {self.holdout_reference:.3f}"]
        notes += [f"warning: {w}" for w in self.warnings]
        return f"{text} ({'; '.join(notes)})" if notes else text

    __str__ = __repr__


def quality_warnings(holdout_records: int | None) -> list[str]:
    if holdout_records is None or holdout_records >= MIN_RELIABLE_HOLDOUT:
        return []
    if holdout_records == 0:
        return ["no holdout: accuracy has no reference and privacy figures cannot be computed"]
    return [
        f"holdout of only {holdout_records} records (fewer than {MIN_RELIABLE_HOLDOUT}): accuracy and "
        "DCR share vary by several points between runs; read them with their intervals"
    ]


__all__ = [
    "MIN_RELIABLE_HOLDOUT",
    "Accuracy",
    "AccuracyFigure",
    "Distances",
    "ModelMetrics",
    "RelationAccuracy",
    "Similarity",
    "quality_warnings",
]
