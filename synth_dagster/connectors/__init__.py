"""synth_dagster.connectors: read training data from, and deliver synthetic data to, databases and storage.

One interface (`Connector`) for every ConnectorType; `create_connector(config)` picks the
implementation. This package never imports Dagster.
"""

from synth_dagster.connectors.base import Connector
from synth_dagster.connectors.errors import (
    AccessDeniedError,
    ConnectorAuthError,
    ConnectorError,
    ConnectorUnreachableError,
    LocationExistsError,
    LocationNotFoundError,
    MissingDriverError,
    ReadOnlyQueryError,
)
from synth_dagster.connectors.factory import create_connector
from synth_dagster.connectors.readonly import ensure_read_only

__all__ = [
    "AccessDeniedError",
    "Connector",
    "ConnectorAuthError",
    "ConnectorError",
    "ConnectorUnreachableError",
    "LocationExistsError",
    "LocationNotFoundError",
    "MissingDriverError",
    "ReadOnlyQueryError",
    "create_connector",
    "ensure_read_only",
]
