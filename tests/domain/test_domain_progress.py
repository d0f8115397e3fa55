from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from synth_dagster.domain import JobProgress, ProgressStatus, ProgressStep, ProgressValue, StepCode, TaskType


def test_progress_value_defaults_and_fraction() -> None:
    assert (ProgressValue().value, ProgressValue().max) == (0, 1)
    assert ProgressValue(value=3, max=4).fraction == 0.75
    assert ProgressValue(value=3, max=0).fraction == 0.0
    assert ProgressValue(value=9, max=4).fraction == 1.0


def test_progress_step_defaults() -> None:
    step = ProgressStep()
    assert step.id and step.status is ProgressStatus.NEW and step.restarts == 0
    assert ProgressStep().id != step.id


def test_job_progress_from_camel_case_dict() -> None:
    job = JobProgress.model_validate(
        {
            "id": "job-1",
            "startDate": "2024-01-25T12:34:56Z",
            "progress": {"value": 2, "max": 4},
            "status": "IN_PROGRESS",
            "steps": [
                {
                    "modelLabel": "orders:tabular",
                    "stepCode": "TRAIN_MODEL",
                    "taskType": "TRAIN_TABULAR",
                    "status": "IN_PROGRESS",
                    "computeResources": {"cpus": 4, "gpus": 0},
                },
                {"stepCode": "ANALYZE_TRAINING_DATA", "status": "FAILED", "errorMessage": "boom"},
            ],
        }
    )
    assert job.start_date == datetime(2024, 1, 25, 12, 34, 56, tzinfo=UTC)
    assert job.fraction == 0.5 and not job.is_finished
    steps = job.steps or []
    assert steps[0].step_code is StepCode.TRAIN_MODEL and steps[0].task_type is TaskType.TRAIN_TABULAR
    assert job.error_messages == ["boom"]


def test_job_progress_done() -> None:
    job = JobProgress(status="DONE")
    assert job.is_finished and job.fraction == 1.0
    assert JobProgress().fraction == 0.0 and not JobProgress().is_finished


def test_dates_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError, match="start_date"):
        JobProgress(start_date=datetime(2024, 1, 1))


def test_job_progress_round_trip() -> None:
    job = JobProgress(
        id="j",
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        status=ProgressStatus.DONE,
        progress=ProgressValue(value=1, max=1),
        steps=[
            ProgressStep(
                step_code=StepCode.GENERATE_DATA, status=ProgressStatus.DONE, messages=[{"loss": 0.1}]
            )
        ],
    )
    dumped = job.model_dump(mode="json")
    assert dumped["status"] == "DONE" and dumped["steps"][0]["step_code"] == "GENERATE_DATA"
    assert JobProgress.model_validate(dumped) == job
    assert JobProgress.model_validate_json(job.model_dump_json()) == job
