"""fsspec filesystems for the storage connector types."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fsspec import AbstractFileSystem

from synth_dagster.connectors.certs import CertificateFiles
from synth_dagster.connectors.drivers import require
from synth_dagster.domain.connectors import ConnectorConfig, ConnectorType


@dataclass(frozen=True)
class Storage:
    fs: AbstractFileSystem
    protocol: str  # the URL scheme DuckDB sees, e.g. "s3"; "" for local files
    prefixes: tuple[str, ...]  # schemes accepted (and stripped) in locations


def build_filesystem(config: ConnectorConfig, timeout: float, certs: CertificateFiles) -> Storage:
    t = config.type
    cfg, secrets = config.config, config.secret_values()
    if t is ConnectorType.FILE_UPLOAD:
        from fsspec.implementations.local import LocalFileSystem

        return Storage(LocalFileSystem(), "", ("file://",))
    if t is ConnectorType.S3_STORAGE:
        s3fs = require("s3fs", connector_type=t.value, extra="s3")
        client_kwargs: dict[str, Any] = {}
        if cfg.get("region"):
            client_kwargs["region_name"] = str(cfg["region"])
        ssl = config.ssl_values()
        if cfg.get("sslEnabled") and ssl.get("caCertificate"):
            client_kwargs["verify"] = certs.write("s3-ca.pem", ssl["caCertificate"])
        fs = s3fs.S3FileSystem(
            key=cfg.get("accessKey") or None,
            secret=secrets.get("secretKey") or None,
            anon=False,
            endpoint_url=cfg.get("endpointUrl") or None,
            client_kwargs=client_kwargs,
            # bounded waits: an unreachable endpoint fails within the configured timeout
            config_kwargs={
                "connect_timeout": timeout,
                "read_timeout": max(timeout, 60.0),
                "retries": {"max_attempts": 1, "mode": "standard"},
            },
            skip_instance_cache=True,
            use_listings_cache=False,
        )
        fs.retries = 1  # s3fs retries 5 times by default, multiplying the connect timeout
        return Storage(fs, "s3", ("s3://", "s3a://"))
    if t is ConnectorType.GOOGLE_CLOUD_STORAGE:
        require("gcsfs", connector_type=t.value, extra="gcs")
        # the plain filesystem: gcsfs' default class probes bucket layouts over gRPC first
        from gcsfs.core import GCSFileSystem

        endpoint = cfg.get("endpointUrl") or None
        token: Any = "anon" if endpoint else None  # None: Google's default credentials
        project = cfg.get("projectId")
        if secrets.get("keyFile"):
            try:
                token = json.loads(secrets["keyFile"])
            except json.JSONDecodeError:
                raise ValueError(
                    "GOOGLE_CLOUD_STORAGE connector: secrets.keyFile must be the JSON key"
                ) from None
            project = project or token.get("project_id")
        fs = GCSFileSystem(
            token=token,
            project=project or "",
            endpoint_url=endpoint,
            requests_timeout=timeout,
            skip_instance_cache=True,
        )
        fs.retries = 2
        return Storage(fs, "gs", ("gs://", "gcs://"))
    if t is ConnectorType.AZURE_STORAGE:
        adlfs = require("adlfs", connector_type=t.value, extra="azure")
        account = cfg.get("accountName")
        kwargs: dict[str, Any] = {"account_name": account, "skip_instance_cache": True}
        endpoint = cfg.get("endpointUrl")
        if endpoint and secrets.get("accountKey"):
            # Azurite or another endpoint: the connection string names the blob endpoint
            scheme = str(endpoint).split("://", 1)[0]
            kwargs["connection_string"] = (
                f"DefaultEndpointsProtocol={scheme};AccountName={account};"
                f"AccountKey={secrets['accountKey']};BlobEndpoint={endpoint};"
            )
        elif secrets.get("accountKey"):
            kwargs["account_key"] = secrets["accountKey"]
        if cfg.get("clientId"):
            kwargs.update(
                client_id=cfg["clientId"],
                tenant_id=cfg.get("tenantId"),
                client_secret=secrets.get("clientSecret"),
            )
        kwargs["connection_timeout"] = int(timeout)
        return Storage(adlfs.AzureBlobFileSystem(**kwargs), "abfs", ("abfs://", "abfss://", "az://"))
    raise ValueError(f"{t.value} is not a storage connector type")
