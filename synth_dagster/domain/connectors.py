"""Connector configuration: the reference's ConnectorConfig, ConnectorType and ConnectorAccessType.

The `config`, `secrets` and `ssl` keys follow the reference (camelCase, e.g. `accessKey`,
`sslEnabled`); snake_case spellings (`access_key`) are accepted and normalised, because the
reference's own examples use both. Secret and SSL values are held as `SecretStr`, so they are masked
in `repr`, `str`, `model_dump_json()` and every other export; code that must hand them to a driver
calls `ConnectorConfig.secret_values()` / `ssl_values()`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

# IfExists is part of the shared vocabulary (enums.py); re-exported here for the connectors
from synth_dagster.domain.enums import DomainEnum
from synth_dagster.domain.enums import IfExists as IfExists

__all__ = [
    "DEFAULT_QUERY_TIMEOUT",
    "QUERY_TIMEOUT_KEY",
    "ConnectorAccessType",
    "ConnectorConfig",
    "ConnectorType",
    "connector_keys",
    "query_timeout_seconds",
]


class ConnectorType(DomainEnum):
    """The type of a connector; it determines the keys of `config`, `secrets` and `ssl`."""

    MYSQL = "MYSQL"
    POSTGRES = "POSTGRES"
    MSSQL = "MSSQL"
    ORACLE = "ORACLE"
    MARIADB = "MARIADB"
    SNOWFLAKE = "SNOWFLAKE"
    BIGQUERY = "BIGQUERY"
    HIVE = "HIVE"
    DATABRICKS = "DATABRICKS"
    REDSHIFT = "REDSHIFT"
    SQLITE = "SQLITE"
    AZURE_STORAGE = "AZURE_STORAGE"
    GOOGLE_CLOUD_STORAGE = "GOOGLE_CLOUD_STORAGE"
    S3_STORAGE = "S3_STORAGE"
    # The reference uses FILE_UPLOAD for uploaded files; here it means files on a local (or mounted)
    # filesystem, optionally below `config.basePath`.
    FILE_UPLOAD = "FILE_UPLOAD"

    @property
    def is_storage(self) -> bool:
        return self in _STORAGE_TYPES


_STORAGE_TYPES = {
    ConnectorType.AZURE_STORAGE,
    ConnectorType.GOOGLE_CLOUD_STORAGE,
    ConnectorType.S3_STORAGE,
    ConnectorType.FILE_UPLOAD,
}


class ConnectorAccessType(DomainEnum):
    """What a connector may be used for.

    - READ_PROTECTED: only `locations` and `schema`; a generator may still train on it, but its rows
      are never handed to the user (`read_data` and `query` are refused).
    - READ_DATA: full read access.
    - WRITE_DATA: read and write access (a destination for synthetic data).
    - SOURCE: deprecated, same as READ_PROTECTED.
    - DESTINATION: deprecated, same as WRITE_DATA.
    """

    READ_PROTECTED = "READ_PROTECTED"
    READ_DATA = "READ_DATA"
    WRITE_DATA = "WRITE_DATA"
    SOURCE = "SOURCE"
    DESTINATION = "DESTINATION"

    @property
    def effective(self) -> ConnectorAccessType:
        """The non-deprecated access type this value stands for."""
        return {
            ConnectorAccessType.SOURCE: ConnectorAccessType.READ_PROTECTED,
            ConnectorAccessType.DESTINATION: ConnectorAccessType.WRITE_DATA,
        }.get(self, self)

    @property
    def can_read_data(self) -> bool:
        return self.effective in (ConnectorAccessType.READ_DATA, ConnectorAccessType.WRITE_DATA)

    @property
    def can_write_data(self) -> bool:
        return self.effective is ConnectorAccessType.WRITE_DATA


# Keys per connector type: (config, secrets, ssl). Keys marked with a comment are ours (not in the
# reference); everything else mirrors the reference's ConnectorConfig table.
_TIMEOUT = "connectTimeout"  # ours: seconds to wait for a connection, default 10
# ours, every type: seconds one statement may run on the database (or in DuckDB), default 600
QUERY_TIMEOUT_KEY = "queryTimeout"
DEFAULT_QUERY_TIMEOUT = 600.0
MAX_QUERY_TIMEOUT = 86_400.0  # a day: every statement stays bounded
_KEYS: dict[ConnectorType, tuple[set[str], set[str], set[str]]] = {
    ConnectorType.AZURE_STORAGE: (
        {"accountName", "clientId", "tenantId", "endpointUrl", _TIMEOUT},  # endpointUrl: ours (Azurite)
        {"accountKey", "clientSecret"},
        set(),
    ),
    ConnectorType.GOOGLE_CLOUD_STORAGE: (
        {"projectId", "endpointUrl", _TIMEOUT},  # ours: projectId (default: the key's), endpointUrl
        {"keyFile"},
        set(),
    ),
    ConnectorType.S3_STORAGE: (
        {"accessKey", "endpointUrl", "sslEnabled", "region", _TIMEOUT},  # region: ours
        {"secretKey"},
        {"caCertificate"},
    ),
    ConnectorType.FILE_UPLOAD: ({"basePath"}, set(), set()),
    ConnectorType.BIGQUERY: ({"projectId", "location", _TIMEOUT}, {"keyFile"}, set()),  # both ours
    ConnectorType.DATABRICKS: (
        {"host", "httpPath", "catalog", "clientId", "tenantId", _TIMEOUT},
        {"accessToken", "clientSecret"},
        set(),
    ),
    ConnectorType.HIVE: (
        {
            "host",
            "port",
            "username",
            "kerberosEnabled",
            "kerberosPrincipal",
            "kerberosServicePrincipal",
            "kerberosClientPrincipal",
            "kerberosKrb5Conf",
            "sslEnabled",
            _TIMEOUT,
        },
        {"password", "kerberosKeytab"},
        {"caCertificate"},
    ),
    ConnectorType.MARIADB: ({"host", "port", "username", _TIMEOUT}, {"password"}, set()),
    ConnectorType.MYSQL: ({"host", "port", "username", _TIMEOUT}, {"password"}, set()),
    ConnectorType.MSSQL: ({"host", "port", "username", "database", _TIMEOUT}, {"password"}, set()),
    ConnectorType.ORACLE: (
        {"host", "port", "username", "connectionType", "database", _TIMEOUT},
        {"password"},
        set(),
    ),
    ConnectorType.POSTGRES: (
        {"host", "port", "username", "database", "sslEnabled", _TIMEOUT},
        {"password"},
        {"rootCertificate", "sslCertificate", "sslCertificateKey"},
    ),
    ConnectorType.SNOWFLAKE: (
        {"account", "username", "warehouse", "database", "role", _TIMEOUT},  # role: ours
        {"password"},
        set(),
    ),
    ConnectorType.REDSHIFT: (
        {"host", "port", "username", "database", "sslEnabled", _TIMEOUT},
        {"password"},
        set(),
    ),
    ConnectorType.SQLITE: ({"database", _TIMEOUT}, set(), set()),
}

for _config_keys, _, _ in _KEYS.values():
    _config_keys.add(QUERY_TIMEOUT_KEY)

# Required config keys per type (secrets are optional: trust auth, instance roles, ...).
_REQUIRED: dict[ConnectorType, set[str]] = {
    ConnectorType.POSTGRES: {"host"},
    ConnectorType.REDSHIFT: {"host", "database"},
    ConnectorType.MYSQL: {"host"},
    ConnectorType.MARIADB: {"host"},
    ConnectorType.MSSQL: {"host"},
    ConnectorType.ORACLE: {"host"},
    ConnectorType.HIVE: {"host"},
    ConnectorType.DATABRICKS: {"host", "httpPath"},
    ConnectorType.SNOWFLAKE: {"account", "username"},
    ConnectorType.SQLITE: {"database"},
}


def connector_keys(type: ConnectorType) -> dict[str, set[str]]:
    """The accepted `config`, `secrets` and `ssl` keys of a connector type."""
    config, secrets, ssl = _KEYS[ConnectorType(type)]
    return {"config": set(config), "secrets": set(secrets), "ssl": set(ssl)}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _normalise(section: str, values: dict[str, Any], allowed: set[str], type: ConnectorType) -> dict:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = key if key in allowed else _camel(key)
        if name not in allowed:
            hint = ", ".join(sorted(allowed)) or "none"
            raise ValueError(f"{type.value} connector: unknown {section} key {key!r}; accepted keys: {hint}")
        out[name] = value
    return out


def query_timeout_seconds(value: Any) -> float:
    """`config.queryTimeout` as seconds; the default when it is not set."""
    return DEFAULT_QUERY_TIMEOUT if value in (None, "") else float(value)


def _check_query_timeout(type: ConnectorType, value: Any) -> None:
    if value in (None, ""):
        return
    try:
        seconds = float(value)
        valid = not isinstance(value, bool) and 0 < seconds <= MAX_QUERY_TIMEOUT
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            f"{type.value} connector: config.queryTimeout must be a number of seconds above 0 and at "
            f"most {MAX_QUERY_TIMEOUT:g}, got {value!r}; leave it out for the default of "
            f"{DEFAULT_QUERY_TIMEOUT:g}"
        )


class ConnectorConfig(BaseModel):
    """A connection to a data source or destination (the reference's ConnectorConfig)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, hide_input_in_errors=True)

    name: str | None = None
    description: str | None = None
    type: ConnectorType
    access_type: ConnectorAccessType = ConnectorAccessType.READ_PROTECTED
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    ssl: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("access_type", mode="before")
    @classmethod
    def _default_access(cls, value: Any) -> Any:
        return ConnectorAccessType.READ_PROTECTED if value is None else value

    @field_validator("config", "secrets", "ssl", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _check_keys(self) -> ConnectorConfig:
        config_keys, secret_keys, ssl_keys = _KEYS[self.type]
        self.config = _normalise("config", self.config, config_keys, self.type)
        self.secrets = _normalise("secrets", self.secrets, secret_keys, self.type)
        self.ssl = _normalise("ssl", self.ssl, ssl_keys, self.type)
        missing = sorted(k for k in _REQUIRED.get(self.type, set()) if self.config.get(k) in (None, ""))
        if missing:
            raise ValueError(f"{self.type.value} connector: config is missing {', '.join(missing)}")
        port = self.config.get("port")
        if port is not None and not re.fullmatch(r"\d{1,5}", str(port)):
            raise ValueError(f"{self.type.value} connector: config.port must be an integer, got {port!r}")
        _check_query_timeout(self.type, self.config.get(QUERY_TIMEOUT_KEY))
        if self.type is ConnectorType.ORACLE:
            kind = str(self.config.get("connectionType", "SID")).upper()
            if kind not in ("SID", "SERVICE_NAME"):
                raise ValueError("ORACLE connector: config.connectionType must be SID or SERVICE_NAME")
        return self

    def secret_values(self) -> dict[str, str]:
        """The plain secret values, for handing to a driver. Never log or export the result."""
        return {k: v.get_secret_value() for k, v in self.secrets.items()}

    def ssl_values(self) -> dict[str, str]:
        """The plain SSL values (certificates and keys, base64-encoded as in the reference)."""
        return {k: v.get_secret_value() for k, v in self.ssl.items()}
