"""Certificates and keys from `ssl` (base64 or PEM) as private temp files, for drivers that want paths."""

from __future__ import annotations

import base64
import os
import tempfile


class CertificateFiles:
    """Base64 certificates from `ssl` written to private temp files (libpq wants file paths)."""

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def write(self, name: str, b64: str) -> str:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="synth_dagster_ssl_")
        path = os.path.join(self._dir.name, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(_decode(b64))
        return path

    def cleanup(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


def _decode(value: str) -> bytes:
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()  # accept PEM as is, too
    return base64.b64decode(text)
