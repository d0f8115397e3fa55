"""Progress of long-running jobs (training, generation, probing) and of their steps."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AwareDatetime, Field

from synth_dagster.domain.config import DomainView
from synth_dagster.domain.enums import DomainEnum

__all__ = [
    "ComputeResources",
    "JobProgress",
    "ProgressStatus",
    "ProgressStep",
    "ProgressValue",
    "StepCode",
    "TaskType",
]


class ProgressStatus(DomainEnum):
    """The status of a job or a step.

    - `NEW`: being configured, not started yet
    - `CONTINUE`: being configured, but has existing artifacts
    - `ON_HOLD`: started, but kept on hold
    - `QUEUED`: started, awaiting resources
    - `IN_PROGRESS`: running
    - `DONE`: finished successfully
    - `FAILED`: failed
    - `CANCELED`: canceled
    """

    NEW = "NEW"
    CONTINUE = "CONTINUE"
    ON_HOLD = "ON_HOLD"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    new = "NEW"
    continue_ = "CONTINUE"
    on_hold = "ON_HOLD"
    queued = "QUEUED"
    in_progress = "IN_PROGRESS"
    done = "DONE"
    failed = "FAILED"
    canceled = "CANCELED"

    @property
    def is_terminal(self) -> bool:
        """True once the job/step can no longer change (DONE, FAILED or CANCELED)."""
        return self in (ProgressStatus.DONE, ProgressStatus.FAILED, ProgressStatus.CANCELED)

    @property
    def is_active(self) -> bool:
        """True while the job/step has been started and not yet finished."""
        return self in (ProgressStatus.ON_HOLD, ProgressStatus.QUEUED, ProgressStatus.IN_PROGRESS)


class StepCode(DomainEnum):
    """The unique code of a step within a job."""

    PULL_TRAINING_DATA = "PULL_TRAINING_DATA"
    ANALYZE_TRAINING_DATA = "ANALYZE_TRAINING_DATA"
    ENCODE_TRAINING_DATA = "ENCODE_TRAINING_DATA"
    TRAIN_MODEL = "TRAIN_MODEL"
    GENERATE_DATA = "GENERATE_DATA"
    GENERATE_MODEL_REPORT_DATA = "GENERATE_MODEL_REPORT_DATA"
    CREATE_MODEL_REPORT = "CREATE_MODEL_REPORT"
    FINALIZE_TRAINING = "FINALIZE_TRAINING"
    GENERATE_DATA_TABULAR = "GENERATE_DATA_TABULAR"
    GENERATE_DATA_LANGUAGE = "GENERATE_DATA_LANGUAGE"
    CREATE_DATA_REPORT = "CREATE_DATA_REPORT"
    CREATE_DATA_REPORT_TABULAR = "CREATE_DATA_REPORT_TABULAR"
    CREATE_DATA_REPORT_LANGUAGE = "CREATE_DATA_REPORT_LANGUAGE"
    FINALIZE_GENERATION = "FINALIZE_GENERATION"
    DELIVER_DATA = "DELIVER_DATA"
    FINALIZE_PROBING = "FINALIZE_PROBING"

    pull_training_data = "PULL_TRAINING_DATA"
    analyze_training_data = "ANALYZE_TRAINING_DATA"
    encode_training_data = "ENCODE_TRAINING_DATA"
    train_model = "TRAIN_MODEL"
    generate_data = "GENERATE_DATA"
    generate_model_report_data = "GENERATE_MODEL_REPORT_DATA"
    create_model_report = "CREATE_MODEL_REPORT"
    finalize_training = "FINALIZE_TRAINING"
    generate_data_tabular = "GENERATE_DATA_TABULAR"
    generate_data_language = "GENERATE_DATA_LANGUAGE"
    create_data_report = "CREATE_DATA_REPORT"
    create_data_report_tabular = "CREATE_DATA_REPORT_TABULAR"
    create_data_report_language = "CREATE_DATA_REPORT_LANGUAGE"
    finalize_generation = "FINALIZE_GENERATION"
    deliver_data = "DELIVER_DATA"
    finalize_probing = "FINALIZE_PROBING"


class TaskType(DomainEnum):
    """The type of task a step belongs to."""

    SYNC = "SYNC"
    TRAIN_TABULAR = "TRAIN_TABULAR"
    TRAIN_LANGUAGE = "TRAIN_LANGUAGE"
    FINALIZE_TRAINING = "FINALIZE_TRAINING"
    GENERATE_TABULAR = "GENERATE_TABULAR"
    GENERATE_LANGUAGE = "GENERATE_LANGUAGE"
    FINALIZE_GENERATION = "FINALIZE_GENERATION"
    PROBE_TABULAR = "PROBE_TABULAR"
    PROBE_LANGUAGE = "PROBE_LANGUAGE"
    FINALIZE_PROBING = "FINALIZE_PROBING"
    GENERATE = "GENERATE"
    PROBE = "PROBE"

    sync = "SYNC"
    train_tabular = "TRAIN_TABULAR"
    train_language = "TRAIN_LANGUAGE"
    finalize_training = "FINALIZE_TRAINING"
    generate_tabular = "GENERATE_TABULAR"
    generate_language = "GENERATE_LANGUAGE"
    finalize_generation = "FINALIZE_GENERATION"
    probe_tabular = "PROBE_TABULAR"
    probe_language = "PROBE_LANGUAGE"
    finalize_probing = "FINALIZE_PROBING"
    generate = "GENERATE"
    probe = "PROBE"


class ProgressValue(DomainView):
    """`value` of `max` units done (reference defaults 0 of 1)."""

    value: int | None = 0
    max: int | None = 1

    @property
    def fraction(self) -> float:
        """Share done in [0, 1]; 0 when `max` is unknown or zero."""
        if not self.max or self.value is None:
            return 0.0
        return min(max(self.value / self.max, 0.0), 1.0)


class ComputeResources(DomainView):
    """Hardware available to a step."""

    cpus: int | None = None
    memory: float | None = None  # GB
    gpus: int | None = None
    gpu_memory: float | None = None  # GB
    storage: float | None = None  # GiB


class ProgressStep(DomainView):
    """The progress of one step of a job.

    `model_label` is "<table>:tabular" or "<table>:language" for model steps, else None.
    Defaults as in the reference (new id, 0 restarts, status NEW), except `compute_name`, which stays
    None (the reference fills in "SDK").
    """

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    model_label: str | None = None
    compute_name: str | None = None
    restarts: int | None = 0
    task_type: TaskType | None = None
    step_code: StepCode | None = None
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    compute_resources: ComputeResources | None = None
    messages: list[dict[str, Any]] | None = None
    error_message: str | None = None
    progress: ProgressValue | None = None
    status: ProgressStatus | None = ProgressStatus.NEW


class JobProgress(DomainView):
    """The progress of a job (a training, generation or probe) and of its steps."""

    id: str | None = None
    start_date: AwareDatetime | None = None
    end_date: AwareDatetime | None = None
    progress: ProgressValue | None = None
    status: ProgressStatus | None = None
    steps: list[ProgressStep] | None = None

    @property
    def fraction(self) -> float:
        """Share of the job done, in [0, 1]."""
        if self.status is ProgressStatus.DONE:
            return 1.0
        return self.progress.fraction if self.progress is not None else 0.0

    @property
    def is_finished(self) -> bool:
        return self.status is not None and self.status.is_terminal

    @property
    def error_messages(self) -> list[str]:
        """The error messages of failed steps, in step order."""
        return [s.error_message for s in self.steps or [] if s.error_message]
