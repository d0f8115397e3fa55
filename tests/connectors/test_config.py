"""ConnectorConfig: the reference's keys, snake_case spellings, validation messages, access types."""

from __future__ import annotations

import pytest

from synth_dagster.domain import ConnectorAccessType, ConnectorConfig, ConnectorType, IfExists
from synth_dagster.domain.connectors import connector_keys


def test_reference_example_dicts_validate() -> None:
    src = ConnectorConfig.model_validate(
        {
            "name": "My Source",
            "type": "POSTGRES",
            "access_type": "SOURCE",
            "config": {"host": "h", "username": "u", "database": "d"},
            "secrets": {"password": "pw"},
        }
    )
    assert src.access_type.effective is ConnectorAccessType.READ_PROTECTED
    dst = ConnectorConfig.model_validate(
        {
            "type": "S3_STORAGE",
            "access_type": "DESTINATION",
            "config": {
                "access_key": "AK",
                "endpoint_url": "http://x",
            },  # snake_case as in the reference example
            "secrets": {"secret_key": "SK"},
        }
    )
    assert dst.config == {"accessKey": "AK", "endpointUrl": "http://x"}
    assert dst.secret_values() == {"secretKey": "SK"}
    assert dst.access_type.can_write_data and dst.access_type.effective is ConnectorAccessType.WRITE_DATA


def test_defaults_and_lenient_enums() -> None:
    c = ConnectorConfig(type="sqlite", config={"database": ":memory:"})
    assert c.type is ConnectorType.SQLITE and c.access_type is ConnectorAccessType.READ_PROTECTED
    assert not c.access_type.can_read_data
    assert (
        ConnectorConfig(type="SQLITE", access_type=None, config={"database": "x"}).access_type
        == "READ_PROTECTED"
    )
    assert IfExists("append") is IfExists.APPEND and IfExists("replace") is IfExists.REPLACE
    assert ConnectorType.S3_STORAGE.is_storage and not ConnectorType.SNOWFLAKE.is_storage


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "POSTGRES", "config": {"host": "h", "hostname": "x"}}, "unknown config key 'hostname'"),
        ({"type": "POSTGRES", "config": {}}, "missing host"),
        ({"type": "POSTGRES", "config": {"host": "h", "port": "abc"}}, "port must be an integer"),
        ({"type": "ORACLE", "config": {"host": "h", "connectionType": "TNS"}}, "SID or SERVICE_NAME"),
        ({"type": "MYSQL", "config": {"host": "h"}, "secrets": {"token": "x"}}, "unknown secrets key"),
        ({"type": "NOPE"}, "type"),
        ({"type": "SQLITE", "config": {"database": "x"}, "access_type": "READ_ALL"}, "access_type"),
    ],
)
def test_validation_messages(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConnectorConfig.model_validate(data)


def test_every_type_has_keys() -> None:
    for t in ConnectorType:
        keys = connector_keys(t)
        assert set(keys) == {"config", "secrets", "ssl"}
    assert "rootCertificate" in connector_keys(ConnectorType.POSTGRES)["ssl"]
    assert "kerberosKeytab" in connector_keys(ConnectorType.HIVE)["secrets"]


def test_connectors_layer_does_not_import_dagster() -> None:
    import subprocess
    import sys

    code = (
        "import sys, synth_dagster.connectors as c\n"
        "import synth_dagster.connectors.sql.connector, synth_dagster.connectors.storage.connector\n"
        "import synth_dagster.connectors.snowflake, synth_dagster.connectors.bigquery\n"
        "assert 'dagster' not in sys.modules, 'connectors imported dagster'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
