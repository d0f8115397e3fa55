"""Quality assurance of synthetic data: accuracy, similarity and distance metrics, and HTML reports.

Importable without Dagster or torch::

    from synth_dagster.qa import assess, evaluate, model_report

    evaluation = assess(synthetic, training, holdout)          # what the reports draw
    metrics = evaluation.metrics                               # -> ModelMetrics
    model_report(evaluation, "model-report.html")              # self-contained, offline HTML

    # a child table against the parent rows its (non-context) foreign key references
    relation = relation_accuracy(syn_child, syn_parent, trn_child, trn_parent, foreign_key="account_id",
                                 primary_key="id")
"""

from synth_dagster.domain.metrics import Accuracy, Distances, ModelMetrics, RelationAccuracy, Similarity
from synth_dagster.qa._prepare import Context
from synth_dagster.qa.evaluation import Evaluation, assess
from synth_dagster.qa.relations import referential_integrity, relation_accuracy
from synth_dagster.qa.report import data_report, model_report, write_html

__all__ = [
    "Accuracy",
    "Context",
    "Distances",
    "Evaluation",
    "ModelMetrics",
    "RelationAccuracy",
    "Similarity",
    "assess",
    "data_report",
    "model_report",
    "referential_integrity",
    "relation_accuracy",
    "write_html",
]
