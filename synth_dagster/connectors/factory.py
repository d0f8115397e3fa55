"""Build the connector for a ConnectorConfig (or an equivalent dict)."""

from __future__ import annotations

from typing import Any

from synth_dagster.connectors.base import Connector
from synth_dagster.domain.connectors import ConnectorConfig, ConnectorType

__all__ = ["create_connector"]


def create_connector(config: ConnectorConfig | dict[str, Any]) -> Connector:
    """The connector for `config`; drivers are imported lazily, on first use."""
    if not isinstance(config, ConnectorConfig):
        config = ConnectorConfig.model_validate(config)
    t = config.type
    if t is ConnectorType.SNOWFLAKE:
        from synth_dagster.connectors.snowflake import SnowflakeConnector

        return SnowflakeConnector(config)
    if t is ConnectorType.BIGQUERY:
        from synth_dagster.connectors.bigquery import BigQueryConnector

        return BigQueryConnector(config)
    if t.is_storage:
        from synth_dagster.connectors.storage.connector import StorageConnector

        return StorageConnector(config)
    from synth_dagster.connectors.sql.connector import SqlConnector

    return SqlConnector(config)
