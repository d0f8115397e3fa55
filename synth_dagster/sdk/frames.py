"""Tables in and out of the client: DataFrames, CSV / Parquet paths, records, and Parquet in the store."""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from synth_dagster.sdk.errors import InvalidRequestError
from synth_dagster.sdk.store import Store

PARQUET_MAGIC = b"PAR1"
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")


def shown(text: str, limit: int = 80) -> str:
    """User input for an error message: quoted, and cut when long (it may be a whole file's text)."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _base64_parquet(text: str) -> pd.DataFrame | None:
    """A Parquet file given as base64 text (as APIs pass files), or None if `text` is no such thing."""
    if len(text) < 16 or not _BASE64.fullmatch(text[:4096]):
        return None
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(PARQUET_MAGIC):
        return None
    try:
        return pd.read_parquet(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several types for a broken file
        raise InvalidRequestError(f"the base64 text is a Parquet file that cannot be read: {exc}") from None


def read_table_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV (optionally gzipped), TSV or Parquet file as a DataFrame (or base64-encoded Parquet)."""
    text = str(path)
    lower = text.lower()
    if not os.path.exists(text) and "://" not in text:
        decoded = _base64_parquet(text) if isinstance(path, str) else None
        if decoded is not None:
            return decoded
        raise InvalidRequestError(
            f"cannot read {shown(text)}: no such file; give a DataFrame, the path of a CSV / Parquet file, "
            "or a Parquet file as base64 text"
        )
    if lower.endswith((".parquet", ".pq")):
        return pd.read_parquet(text)
    if lower.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return pd.read_csv(text, sep="\t" if ".tsv" in lower else ",")
    raise InvalidRequestError(
        f"cannot read {shown(text)}: give a DataFrame, or a file ending in .csv, .csv.gz, .tsv or .parquet"
    )


def as_frame(data: Any, what: str) -> pd.DataFrame:
    """Accept a DataFrame, a CSV / Parquet path, a list of records or a dict of columns."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | os.PathLike):
        return read_table_file(data)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    if isinstance(data, dict) and all(isinstance(v, list | tuple) for v in data.values()):
        return pd.DataFrame(data)
    raise InvalidRequestError(
        f"{what}: expected a pandas DataFrame, a CSV/Parquet path or a list of records, "
        f"got {type(data).__name__}"
    )


def parquet_bytes(frame: pd.DataFrame, what: str) -> bytes:
    """The frame as Parquet; a column that Arrow cannot store is named with a fix."""
    frame = frame.reset_index(drop=True).rename(columns=str)  # Parquet needs string column names
    try:
        return frame.to_parquet(index=False)
    except Exception as exc:  # pyarrow raises several types (ArrowInvalid, ArrowTypeError, ...)
        for column in frame.columns:
            try:
                frame[[column]].to_parquet(index=False)
            except Exception:
                kinds = sorted({type(v).__name__ for v in frame[column].dropna().head(1000)})
                raise InvalidRequestError(
                    f"{what}: column {column!r} cannot be stored ({', '.join(kinds)} values mixed); "
                    f"convert it to one type first, e.g. df[{column!r}] = df[{column!r}].astype(str)"
                ) from exc
        raise InvalidRequestError(f"{what}: cannot be stored as Parquet: {exc}") from exc


def write_frame(store: Store, relative: str, frame: pd.DataFrame, what: str) -> None:
    store.write_bytes(relative, parquet_bytes(frame, what), private=True)


def read_frame(store: Store, relative: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(store.read_bytes(relative)))


def save_path(file_path: str | os.PathLike[str] | None, default_name: str) -> Path:
    """Where to save a file the user asked for: `file_path`, a file named `default_name` in it if it
    is a folder, or in the working folder when it is None (parent folders are created)."""
    target = Path(file_path) if file_path else Path.cwd() / default_name
    if target.is_dir():
        target = target / default_name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target
