"""Device selection: one place chooses it, CUDA asked for but absent falls back to the CPU with a log line."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import torch

from synth_dagster.engine import EngineInputError, FlatGenerator, FlatOptions, GenerationRequest
from synth_dagster.engine.device import check_device_name, resolve_device

needs_no_gpu = pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the fallback of a machine without CUDA"
)


def test_auto_and_cpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(None) == resolve_device("auto")
    assert check_device_name(" CUDA:1 ") == "cuda:1"
    with pytest.raises(
        EngineInputError, match="device must be one of auto, cpu, cuda, cuda:N or mps; got 'tpu'"
    ):
        resolve_device("tpu")


@needs_no_gpu
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_asked_for_but_absent_falls_back_with_a_log_line(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="synth_dagster.engine.device"):
        assert resolve_device(name) == torch.device("cpu")
    assert f"device '{name}' was asked for but CUDA is not available here; using the CPU" in caplog.text


@needs_no_gpu
def test_training_on_absent_cuda_runs_on_the_cpu_and_stays_reproducible(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.choice(["x", "y", "z"], 300), "b": rng.normal(size=300).round(1)})
    options = FlatOptions(model_size="small", max_epochs=1, random_state=3)
    with caplog.at_level(logging.WARNING, logger="synth_dagster.engine.device"):
        on_cuda = FlatGenerator.fit(frame, FlatOptions(**{**options.__dict__, "device": "cuda"}))
    assert "CUDA is not available here; using the CPU" in caplog.text
    on_cpu = FlatGenerator.fit(frame, options)
    request = GenerationRequest(size=200, random_state=4)
    pd.testing.assert_frame_equal(on_cuda.to_device("cuda").sample(request), on_cpu.sample(request))
