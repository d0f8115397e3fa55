"""Helpers: one WRITE_DATA connector per family on real services of this machine.

PostgreSQL (127.0.0.1:5432, trust auth) and MariaDB (127.0.0.1:3306, root without password) are the
machine's services; S3 is moto's server on a loopback port. Every test uses its own table or
object names (uuid suffix) and removes them, since other test sessions may run concurrently.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from synth_dagster.connectors import Connector, create_connector

PG = {"host": "127.0.0.1", "port": 5432, "username": "postgres", "database": "test"}
MARIA = {"host": "127.0.0.1", "port": 3306, "username": "root"}


def free_port() -> int:
    """A loopback port nothing listens on (bound and released at once)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@dataclass
class Family:
    """A connector plus how to name a table (or file) in it."""

    name: str
    config: dict[str, Any]
    location: Callable[[str], str]  # table name -> location
    container: str  # what locations("") lists and locations(container) expands
    typed: bool = True  # full type fidelity (False for CSV / JSON files)

    def connector(self, access_type: str = "WRITE_DATA") -> Connector:
        return create_connector({**self.config, "access_type": access_type})
