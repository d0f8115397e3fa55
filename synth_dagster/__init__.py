"""synth_dagster: privacy-safe synthetic data as Dagster assets.

`SynthClient` is imported lazily so that `synth_dagster.qa` and `synth_dagster.domain` load
without torch.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["SynthClient", "SynthDagsterError", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "SynthClient":
        from synth_dagster.sdk import SynthClient

        return SynthClient
    if name == "SynthDagsterError":
        from synth_dagster.domain.errors import SynthDagsterError

        return SynthDagsterError
    raise AttributeError(f"module 'synth_dagster' has no attribute {name!r}")
