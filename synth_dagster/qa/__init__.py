"""Quality assurance of synthetic data: accuracy, similarity and distance metrics, and HTML reports.

Importable without Dagster or torch::

    from synth_dagster.qa import assess, evaluate, model_report

    metrics = evaluate(synthetic, training, holdout)           # -> ModelMetrics
    evaluation = assess(synthetic, training, holdout)          # metrics + what the reports draw
    model_report(evaluation, "model-report.html")              # self-contained, offline HTML
"""

from synth_dagster.domain.metrics import Accuracy, Distances, ModelMetrics, Similarity
from synth_dagster.qa._prepare import Context
from synth_dagster.qa.evaluation import Evaluation, assess, evaluate
from synth_dagster.qa.report import data_report, model_report, write_html

__all__ = [
    "Accuracy",
    "Context",
    "Distances",
    "Evaluation",
    "ModelMetrics",
    "Similarity",
    "assess",
    "data_report",
    "evaluate",
    "model_report",
    "write_html",
]
