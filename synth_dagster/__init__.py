"""synth_dagster: privacy-safe synthetic data as Dagster assets.

`SynthClient` and `SyntheticDataComponent` are imported lazily so that `synth_dagster.qa` and
`synth_dagster.domain` load without torch or Dagster.
"""

from importlib import import_module
from typing import Any

from synth_dagster._version import __version__

__all__ = ["SynthClient", "SynthDagsterError", "SyntheticDataComponent", "__version__"]

# public name -> module that defines it, imported on first access
_LAZY = {
    "SynthClient": "synth_dagster.sdk",
    "SynthDagsterError": "synth_dagster.domain.errors",
    "SyntheticDataComponent": "synth_dagster.integration.components",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synth_dagster' has no attribute {name!r}")


def __dir__() -> list[str]:
    # `dg` finds components through dir() of the registry module, so the lazy names must show
    return sorted({*globals(), *_LAZY})
