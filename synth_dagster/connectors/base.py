"""The one connector interface; every family implements the underscore methods.

The public methods enforce the access type, translate driver failures into the exceptions of
`errors.py` and scrub secret values from every message.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import pandas as pd

from synth_dagster.connectors.errors import (
    AccessDeniedError,
    ConnectorAuthError,
    ConnectorError,
    ConnectorUnreachableError,
    LocationNotFoundError,
    QueryTimeoutError,
)
from synth_dagster.connectors.frames import DEFAULT_CHUNK_SIZE
from synth_dagster.connectors.readonly import ensure_read_only
from synth_dagster.connectors.timeouts import is_timeout_message
from synth_dagster.domain.connectors import (
    DEFAULT_QUERY_TIMEOUT,
    QUERY_TIMEOUT_KEY,
    ConnectorConfig,
    IfExists,
    query_timeout_seconds,
)

__all__ = ["Connector", "IfExistsLike"]

IfExistsLike = IfExists | Literal["fail", "append", "replace", "FAIL", "APPEND", "REPLACE"]

DEFAULT_TIMEOUT = 10  # seconds, for `config.connectTimeout`

# Driver messages that tell why a connection failed (checked on the scrubbed text).
_AUTH = re.compile(
    r"password authentication failed|authentication failed|access denied|login failed|"
    r"invalid username/password|role \"?[^ ]+\"? does not exist|incorrect username or password|"
    r"ORA-01017|InvalidAccessKeyId|SignatureDoesNotMatch|AuthorizationFailure|invalid_grant|"
    r"\(1045|\(1044|\(1698|not authorized|unauthorized|forbidden|invalid credentials",
    re.IGNORECASE,
)
_UNREACHABLE = re.compile(
    r"could not connect|connection refused|timeout expired|timed out|timeout|can't connect|"
    r"could not translate host name|name or service not known|nodename nor servname|unknown host|"
    r"no route to host|network is unreachable|\(2003|\(2005|\(2013|lost connection|"
    r"connection reset|ORA-12170|ORA-12541|DPY-6005|Adaptive Server connection failed|"
    r"Could not connect to the endpoint|EndpointConnectionError|server closed the connection",
    re.IGNORECASE,
)

# Exception class names of cloud SDKs (matched by name: their packages are optional).
_AUTH_TYPES = {
    "Unauthorized",
    "Forbidden",
    "RefreshError",
    "DefaultCredentialsError",
    "ClientAuthenticationError",
    "NoCredentialsError",
}
_NOT_FOUND_TYPES = {"NotFound", "NoSuchKey", "NoSuchBucket", "NoSuchTableError", "ResourceNotFoundError"}


class Connector(ABC):
    """Read from and write to one data source or destination.

    Locations name a table (`schema.table`, `database.table`, `dataset.table`) or a file or folder
    (`bucket/path/file.parquet`). All methods raise ConnectorError subclasses with secret-free
    messages.
    """

    #: sqlglot dialect used by the read-only guard of `query()`
    sql_dialect: str | None = None

    def __init__(self, config: ConnectorConfig) -> None:
        self.config = config
        self._secret_texts = self._collect_secrets(config)

    # -------------------------------------------------------------- identity

    @property
    def label(self) -> str:
        name = f" {self.config.name!r}" if self.config.name else ""
        return f"{self.config.type.value} connector{name}"

    @property
    def timeout(self) -> float:
        return float(self.config.config.get("connectTimeout") or DEFAULT_TIMEOUT)

    @property
    def query_timeout(self) -> float:
        """Seconds one statement may run (`config.queryTimeout`); every engine enforces it."""
        return query_timeout_seconds(self.config.config.get(QUERY_TIMEOUT_KEY))

    def timeout_error(self, operation: str = "run the query") -> QueryTimeoutError:
        return QueryTimeoutError(
            f"{self.label}: could not {operation}: the statement ran longer than the query timeout "
            f"of {self.query_timeout:g}s and was cancelled; make it cheaper (filter, limit) or raise "
            f"config.queryTimeout (seconds, default {DEFAULT_QUERY_TIMEOUT:g})"
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.config.name!r}, type={self.config.type.value}, "
            f"access_type={self.config.access_type.value})"
        )

    __str__ = __repr__

    def __enter__(self) -> Connector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and clients."""

    # -------------------------------------------------------------- public API

    def locations(self, prefix: str = "") -> list[str]:
        """Schemas / databases / buckets for an empty prefix; tables or files below a prefix."""
        with self._errors("list locations"):
            return self._locations(prefix.strip())

    def schema(self, location: str) -> list[dict[str, Any]]:
        """Columns at a location: name, source type, nullable and the pandas dtype read_data gives."""
        with self._errors("read the schema", location):
            return self._schema(self._clean(location))

    def read_data(self, location: str, limit: int | None = None, shuffle: bool = False) -> pd.DataFrame:
        """All rows (or `limit` rows, optionally in random order) at a location as one frame."""
        self._require_read("read_data")
        return self._collect(self._chunks(location, limit, shuffle, DEFAULT_CHUNK_SIZE), location)

    def read_data_chunks(
        self,
        location: str,
        limit: int | None = None,
        shuffle: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> Iterator[pd.DataFrame]:
        """Like read_data, as frames of at most `chunk_size` rows, holding one chunk at a time."""
        self._require_read("read_data_chunks")
        return self._chunks(location, limit, shuffle, chunk_size)

    def read_training_data(
        self, location: str, limit: int | None = None, shuffle: bool = False
    ) -> pd.DataFrame:
        """Rows for training a generator: allowed for every access type, READ_PROTECTED included.

        Only the engine's training path calls this; its rows must not be shown to users.
        """
        return self._collect(self._chunks(location, limit, shuffle, DEFAULT_CHUNK_SIZE), location)

    def read_training_chunks(
        self,
        location: str,
        limit: int | None = None,
        shuffle: bool = False,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> Iterator[pd.DataFrame]:
        """Chunked read_training_data."""
        return self._chunks(location, limit, shuffle, chunk_size)

    def write_data(
        self,
        data: pd.DataFrame | Iterable[pd.DataFrame] | None,
        location: str,
        if_exists: IfExistsLike = "fail",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> int:
        """Write a frame (or an iterable of frames, streamed chunk by chunk) to a location.

        `if_exists`: "fail" (default) raises LocationExistsError, "replace" swaps the old data for
        the new one only once all of it is written, "append" adds rows. `data=None` deletes the
        location. The index is not written (`reset_index()` first to keep it). Returns the
        number of rows written.
        """
        self._require_write("write_data")
        if data is None:
            self.delete_data(location)
            return 0
        mode = IfExists(if_exists)
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        with self._errors("write data", location):
            return self._write(data, self._clean(location), mode, chunk_size)

    def delete_data(self, location: str) -> None:
        """Drop the table, or delete the file or folder, at a location."""
        self._require_write("delete_data")
        with self._errors("delete data", location):
            self._delete(self._clean(location))

    def query(self, sql: str) -> pd.DataFrame:
        """Run one read-only statement (SELECT, SHOW, DESCRIBE) and return its result.

        Statements that could modify data or schema, and stacked statements, are refused with
        ReadOnlyQueryError before anything reaches the database.
        """
        self._require_read("query")
        statement = ensure_read_only(sql, self.sql_dialect)
        with self._errors("run the query"):
            return self._query(statement)

    def test_connection(self) -> bool:
        """Connect and authenticate; raise a ConnectorError subclass saying why it failed."""
        with self._errors("connect"):
            self._test_connection()
        return True

    # -------------------------------------------------------------- to implement

    @abstractmethod
    def _locations(self, prefix: str) -> list[str]: ...

    @abstractmethod
    def _schema(self, location: str) -> list[dict[str, Any]]: ...

    @abstractmethod
    def _read_chunks(
        self, location: str, limit: int | None, shuffle: bool, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        """Yield at least one frame (an empty one for an empty location)."""

    @abstractmethod
    def _write(
        self, data: pd.DataFrame | Iterable[pd.DataFrame], location: str, if_exists: IfExists, chunk_size: int
    ) -> int: ...

    @abstractmethod
    def _delete(self, location: str) -> None: ...

    @abstractmethod
    def _query(self, sql: str) -> pd.DataFrame: ...

    @abstractmethod
    def _test_connection(self) -> None: ...

    # -------------------------------------------------------------- helpers

    def _chunks(
        self, location: str, limit: int | None, shuffle: bool, chunk_size: int
    ) -> Iterator[pd.DataFrame]:
        if limit is not None and limit < 0:
            raise ValueError("limit must be None or a non-negative integer")
        if chunk_size < 1:
            raise ValueError("chunk_size must be positive")
        clean = self._clean(location)
        with self._errors("read data", location):
            yield from self._read_chunks(clean, limit, bool(shuffle), chunk_size)

    def _collect(self, chunks: Iterator[pd.DataFrame], location: str) -> pd.DataFrame:
        frames = list(chunks)
        if len(frames) == 1:
            return frames[0]
        non_empty = [f for f in frames if len(f)] or frames[:1]
        return pd.concat(non_empty, ignore_index=True)

    @staticmethod
    def _clean(location: str) -> str:
        if not isinstance(location, str) or not location.strip():
            raise ValueError("location must be a non-empty string")
        return location.strip()

    def _require_read(self, operation: str) -> None:
        access = self.config.access_type
        if not access.can_read_data:
            raise AccessDeniedError(
                f"{self.label}: {operation}() is not allowed for access_type {access.value}; "
                "only locations() and schema() are (and training a generator). "
                "Use access_type READ_DATA or WRITE_DATA to read rows."
            )

    def _require_write(self, operation: str) -> None:
        access = self.config.access_type
        if not access.can_write_data:
            raise AccessDeniedError(
                f"{self.label}: {operation}() is not allowed for access_type {access.value}; "
                "it needs access_type WRITE_DATA."
            )

    @staticmethod
    def _collect_secrets(config: ConnectorConfig) -> list[str]:
        texts: set[str] = set()
        for value in [*config.secret_values().values(), *config.ssl_values().values()]:
            if value and len(value) >= 3:  # scrubbing 1-2 characters would garble every message
                texts.update({value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)})
        return sorted(texts, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """`text` with every secret value (plain or URL-encoded) replaced by ***."""
        for secret in self._secret_texts:
            text = text.replace(secret, "***")
        return text

    def _describe(self, exc: BaseException) -> str:
        # SQLAlchemy wraps the driver's exception; its own text adds the statement and parameters,
        # which may carry data, so take the driver's message only.
        inner = getattr(exc, "orig", None) or exc
        text = str(inner).strip() or type(inner).__name__
        text = re.sub(r"\s+", " ", text)
        return self.scrub(text)[:600]

    def _where(self) -> str:
        cfg = self.config.config
        host = cfg.get("host") or cfg.get("account") or cfg.get("endpointUrl")
        if not host:
            return ""
        port = cfg.get("port")
        return f" at {host}:{port}" if port else f" at {host}"

    def _translate(self, exc: BaseException, operation: str, location: str | None) -> ConnectorError:
        """Map a driver failure to one clear, secret-free ConnectorError."""
        if isinstance(exc, ConnectorError):
            exc.args = (self.scrub(str(exc)),)  # our own message; scrub in place, keep the type
            return exc
        message = self._describe(exc)
        kind = type(exc).__name__
        # before the connection checks: a timed-out statement is no unreachable host
        if operation != "connect" and is_timeout_message(message):
            return self.timeout_error(operation)
        if (isinstance(exc, (FileNotFoundError, LookupError)) or kind in _NOT_FOUND_TYPES) and location:
            return LocationNotFoundError(f"{self.label}: location {location!r} not found ({message})")
        if _AUTH.search(message) or isinstance(exc, PermissionError) or kind in _AUTH_TYPES:
            return ConnectorAuthError(
                f"{self.label}{self._where()}: authentication failed; check the username and the "
                f"secrets ({message})"
            )
        if _UNREACHABLE.search(message) or isinstance(exc, (TimeoutError, ConnectionError)):
            return ConnectorUnreachableError(
                f"{self.label}{self._where()}: could not connect within {self.timeout:g}s; check "
                f"host, port and network ({message})"
            )
        where = f" at location {location!r}" if location else ""
        return ConnectorError(f"{self.label}: could not {operation}{where}: {message}")

    @contextlib.contextmanager
    def _errors(self, operation: str, location: str | None = None) -> Iterator[None]:
        try:
            yield
        except ConnectorError as exc:
            raise self._translate(exc, operation, location) from None
        except (ValueError, TypeError, NotImplementedError) as exc:
            # argument and configuration errors: as they are, unless they quote a secret
            text = self.scrub(str(exc))
            if text == str(exc):
                raise
            raise ValueError(text) from None
        except GeneratorExit:
            raise
        except Exception as exc:
            # `from None`: the driver's exception (and its URL or parameters) stays out of tracebacks
            raise self._translate(exc, operation, location) from None
