"""synth_dagster.connectors: read training data from, and deliver synthetic data to, databases and storage.

One interface (`Connector`) for every ConnectorType; `create_connector(config)` picks the
implementation. This package never imports Dagster (see `synth_dagster.integration.connectors`).

    from synth_dagster.connectors import create_connector

    pg = create_connector({
        "type": "POSTGRES",
        "access_type": "WRITE_DATA",
        "config": {"host": "db", "username": "etl", "database": "shop"},
        "secrets": {"password": "..."},
    })
    pg.locations()                                   # schemas
    pg.locations("public")                           # tables: ["public.customers", ...]
    pg.schema("public.customers")                    # [{"name", "type", "nullable", "dtype"}, ...]
    df = pg.read_data("public.customers", limit=1000, shuffle=True)
    for chunk in pg.read_data_chunks("public.orders", chunk_size=50_000):
        ...                                          # one chunk in memory at a time
    pg.write_data(df, "synthetic.customers", if_exists="replace")
    pg.query("SELECT count(*) FROM public.orders")   # read-only statements only

Drivers are optional extras: `pip install 'synth_dagster[postgres]'` (mysql, mariadb, mssql,
oracle, snowflake, bigquery, databricks, hive, redshift, s3, gcs, azure); a missing one raises
MissingDriverError naming its extra.
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
    QueryTimeoutError,
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
    "QueryTimeoutError",
    "ReadOnlyQueryError",
    "create_connector",
    "ensure_read_only",
]
