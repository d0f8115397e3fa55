"""Primary keys for generated rows: unique, in the source column's dtype and pattern."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

_PATTERN = re.compile(r"^(?P<prefix>\D*?)(?P<digits>\d+)(?P<suffix>\D*)$")


def analyze_key(values: pd.Series) -> dict[str, Any]:
    """How the source keys look: integers, or strings with a prefix and zero-padded digits."""
    present = values.dropna()
    info: dict[str, Any] = {"dtype": str(values.dtype)}
    if ptypes.is_integer_dtype(values.dtype) or (
        ptypes.is_float_dtype(values.dtype) and (present % 1 == 0).all()
    ):
        info["kind"] = "int"
        return info
    sample = present.astype(str).head(1000)
    matches = sample.str.extract(_PATTERN)
    if (
        len(sample)
        and matches["digits"].notna().all()
        and matches["prefix"].nunique() == 1
        and matches["suffix"].nunique() == 1
    ):
        info.update(
            kind="pattern",
            prefix=matches["prefix"].iloc[0],
            suffix=matches["suffix"].iloc[0],
            width=int(matches["digits"].str.len().min()),
        )
    elif len(sample) and sample.str.fullmatch(r"[A-Z]+").all() and sample.str.len().nunique() == 1:
        # upper-case codes of one width (airport, currency, country codes): more of the same kind,
        # wider only when that width has too few codes for the rows
        info.update(kind="letters", width=int(sample.str.len().iloc[0]))
    elif len(sample) and sample.str.fullmatch(r"[A-Za-z0-9]{1,16}").all() and sample.str.len().nunique() == 1:
        # alphanumeric codes of one width (carrier codes "9E", "AA"): per position, the character
        # classes the source uses there (digits, upper or lower case letters)
        info.update(kind="codes", alphabets=_position_alphabets(sample))
    else:
        info.update(kind="hex", width=int(sample.str.len().median()) if len(sample) else 8)
    return info


_CLASSES = ("0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _position_alphabets(sample: pd.Series) -> list[str]:
    """Per position, the union of the character classes that occur there."""
    alphabets = []
    for i in range(int(sample.str.len().iloc[0])):
        chars = set(sample.str[i])
        alphabets.append("".join(c for c in _CLASSES if chars & set(c)))
    return alphabets


def _alphanumeric_codes(n: int, alphabets: list[str], rng: np.random.Generator) -> list[str]:
    """n distinct codes, position i drawn from alphabets[i]; wider (with the widest alphabet) only when
    those positions have too few combinations for the rows."""
    alphabets = list(alphabets)
    while math.prod(len(a) for a in alphabets) < n:
        alphabets.insert(0, max(alphabets, key=len))
    capacity = math.prod(len(a) for a in alphabets)
    picks = rng.choice(capacity, n, replace=False) if capacity <= 2**62 else rng.permutation(n)
    out = []
    for value in picks:
        chars = []
        for alphabet in reversed(alphabets):
            value, digit = divmod(int(value), len(alphabet))
            chars.append(alphabet[digit])
        out.append("".join(reversed(chars)))
    return out


def _letter_codes(n: int, width: int, rng: np.random.Generator) -> list[str]:
    while 26**width < n:
        width += 1
    picks = rng.choice(26**width, n, replace=False) if 26**width <= 2**62 else rng.permutation(n)
    out = []
    for value in picks:
        letters = []
        for _ in range(width):
            value, digit = divmod(int(value), 26)
            letters.append(chr(65 + digit))
        out.append("".join(reversed(letters)))
    return out


def generate_keys(
    info: dict[str, Any], n: int, rng: np.random.Generator, offset: int = 0, total: int | None = None
) -> pd.Series:
    """n unique keys; integers count from 1, patterned strings keep prefix, suffix and padding.

    `offset` / `total`: these rows are rows offset.. of `total` generated in chunks; keys of different
    chunks never collide (integers continue the count; drawn codes come from one fixed bijection).
    """
    if total is not None:
        return _chunk_keys(info, n, offset, total)
    ids = np.arange(1, n + 1)
    if info["kind"] == "int":
        return pd.Series(ids).astype(info["dtype"])
    if info["kind"] == "pattern":
        values = [f"{info['prefix']}{i:0{info['width']}d}{info['suffix']}" for i in ids]
    elif info["kind"] == "letters":
        values = _letter_codes(n, info["width"], rng)
    elif info["kind"] == "codes":
        values = _alphanumeric_codes(n, info["alphabets"], rng)
    else:
        width = max(info["width"], len(f"{n:x}") + 2)
        raw = rng.permutation(n).astype(np.int64) + rng.integers(0, 16 ** min(width, 12) // max(n, 1) + 1) * n
        values = [f"{v:0{width}x}"[-width:] for v in raw]
    try:
        return pd.Series(values).astype(info["dtype"])
    except (TypeError, ValueError):
        return pd.Series(values, dtype=object)


def _chunk_keys(info: dict[str, Any], n: int, offset: int, total: int) -> pd.Series:
    """Keys offset+1 .. offset+n of `total`; drawn kinds map the row number through an affine
    bijection modulo the code space (fixed, not drawn: every chunk must use the same one)."""
    ids = np.arange(offset + 1, offset + n + 1, dtype=np.int64)
    if info["kind"] == "int":
        values: Any = ids
    elif info["kind"] == "pattern":
        values = [f"{info['prefix']}{i:0{info['width']}d}{info['suffix']}" for i in ids]
    else:
        alphabets = (
            ["ABCDEFGHIJKLMNOPQRSTUVWXYZ"] * info["width"]
            if info["kind"] == "letters"
            else list(info.get("alphabets") or ["0123456789abcdef"] * max(int(info.get("width", 8)), 1))
        )
        while math.prod(len(a) for a in alphabets) < total + 1:
            alphabets.insert(0, max(alphabets, key=len))
        capacity = math.prod(len(a) for a in alphabets)
        step = _coprime_step(capacity)
        out = []
        for i in ids:
            value = (int(i) * step + 7) % capacity
            chars = []
            for alphabet in reversed(alphabets):
                value, digit = divmod(value, len(alphabet))
                chars.append(alphabet[digit])
            out.append("".join(reversed(chars)))
        values = out
    try:
        return pd.Series(values).astype(info["dtype"])
    except (TypeError, ValueError):
        return pd.Series(values, dtype=object)


def _coprime_step(capacity: int) -> int:
    """A step near 0.618 * capacity that is coprime with it, so i -> i * step mod capacity is a bijection."""
    step = max(int(capacity * 0.6180339887) | 1, 1)
    while math.gcd(step, capacity) != 1:
        step += 2 if step + 2 < capacity else -(step - 1)
    return step
