"""Exceptions raised by connectors.

Every message is built by us (never a driver's raw text with a URL in it) and scrubbed of secret
values before it is raised, so it is safe to log and to show in the Dagster UI.
"""

from __future__ import annotations

from synth_dagster.domain.errors import SynthDagsterError

__all__ = [
    "AccessDeniedError",
    "ConnectorAuthError",
    "ConnectorError",
    "ConnectorUnreachableError",
    "LocationExistsError",
    "LocationNotFoundError",
    "MissingDriverError",
    "QueryTimeoutError",
    "ReadOnlyQueryError",
]


class ConnectorError(SynthDagsterError, RuntimeError):
    """Base class of every connector failure."""


class MissingDriverError(ConnectorError, ImportError):
    """The optional package for a connector type is not installed."""

    def __init__(self, connector_type: str, extra: str, package: str) -> None:
        super().__init__(
            f"The {connector_type} connector needs the package {package!r}, which is not installed. "
            f"Install it with: pip install 'synth_dagster[{extra}]'"
        )
        self.extra = extra


class AccessDeniedError(ConnectorError, PermissionError):
    """The connector's access type does not allow the operation."""


class ReadOnlyQueryError(ConnectorError, PermissionError):
    """`query()` was given a statement that could modify data or schema."""


class QueryTimeoutError(ConnectorError, TimeoutError):
    """A statement ran longer than the connector's query timeout (`config.queryTimeout`)."""


class ConnectorAuthError(ConnectorError):
    """The database or storage service rejected the credentials."""


class ConnectorUnreachableError(ConnectorError, ConnectionError):
    """The host could not be reached within the configured timeout."""


class LocationNotFoundError(ConnectorError, LookupError):
    """The table, file or folder at a location does not exist."""


class LocationExistsError(ConnectorError, FileExistsError):
    """`write_data(..., if_exists="fail")` found data at the location."""
