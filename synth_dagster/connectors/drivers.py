"""Optional driver imports with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from synth_dagster.connectors.errors import MissingDriverError


def require(module: str, *, connector_type: str, extra: str, package: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingDriverError telling which extra provides it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDriverError(connector_type, extra, package or module.split(".")[0]) from None
