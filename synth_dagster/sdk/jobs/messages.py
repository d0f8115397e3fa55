"""What the launcher, the fork server and the workers send each other: JSON, never pickles.

A job's spec and the server's replies are plain strings, numbers and dicts; JSON keeps a process
that reads them from running code that someone else wrote into the pipe.
"""

from __future__ import annotations

import json
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["decode", "encode", "receive", "send"]


def encode(message: Any) -> bytes:
    try:
        return json.dumps(message).encode()
    except TypeError as error:  # e.g. storage_options holding an object
        raise TypeError(f"a job message must be JSON (strings, numbers, lists, dicts): {error}") from error


def decode(data: bytes) -> Any:
    return json.loads(data)


def send(connection: Connection, message: Any) -> None:
    connection.send_bytes(encode(message))


def receive(connection: Connection) -> Any:
    """The next message (raises EOFError when the other end is closed)."""
    return decode(connection.recv_bytes())
