"""The one place a device is chosen: "auto", "cpu", "cuda", "cuda:N" (or "mps") -> a torch.device.

"auto" is CUDA when torch sees a GPU, else the CPU. A GPU asked for but absent falls back to the CPU
with a log line, so that a config written for a GPU node still runs on a laptop.
"""

from __future__ import annotations

import logging
import re

import torch

from synth_dagster.engine.errors import EngineInputError

logger = logging.getLogger("synth_dagster.engine.device")

_NAME = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
DEVICE_NAMES = "auto, cpu, cuda, cuda:N or mps"


def is_device_name(name: str | None) -> bool:
    return name is None or bool(_NAME.match(name.strip().lower()))


def check_device_name(name: str | None) -> str:
    """The name, normalised; an EngineInputError naming the accepted ones otherwise."""
    if not is_device_name(name):
        raise EngineInputError(f"device must be one of {DEVICE_NAMES}; got {name!r}")
    return (name or "auto").strip().lower()


def resolve_device(name: str | None = None) -> torch.device:
    """The device to train or generate on; the CPU where the one asked for is not there."""
    name = check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        index = int(name.split(":")[1]) if ":" in name else 0
        if not torch.cuda.is_available():
            logger.warning("device %r was asked for but CUDA is not available here; using the CPU", name)
            return torch.device("cpu")
        if index >= torch.cuda.device_count():
            logger.warning(
                "device %r was asked for but only %d CUDA device(s) are visible; using the CPU",
                name,
                torch.cuda.device_count(),
            )
            return torch.device("cpu")
        return torch.device("cuda", index)
    if name == "mps" and not torch.backends.mps.is_available():
        logger.warning("device 'mps' was asked for but is not available here; using the CPU")
        return torch.device("cpu")
    return torch.device(name)


def manual_generator(seed: int, device: torch.device) -> torch.Generator:
    """A seeded generator on `device` (CUDA draws need a CUDA generator; the CPU keeps its own)."""
    return torch.Generator(device=device).manual_seed(seed)
