"""TABULAR_CHARACTER: a string character by character (IDs, codes, short patterned text).

One sub-column per position. Codes: 0 = the string has ended, 1 = null (first position only; the
later positions of a null hold a filler character), 2.. = the characters seen at that position.
With value protection, a character seen fewer than RARE_THRESHOLD times at a position is replaced
by that position's most frequent character.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import SUBJECTS, SubColumnSpec, frequent_counts

END_CODE = 0
NULL_CODE = 1
FIRST_CODE = 2
MAX_LENGTH = 64


def _strings(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), None).map(lambda v: None if v is None else str(v))


class CharacterEncoder:
    def analyze(self, values: pd.Series, *, protect: bool, options: dict[str, Any]) -> dict[str, Any]:
        strings = _strings(values)
        subjects = options.get(SUBJECTS)
        present = strings.notna().to_numpy()
        s = strings[present]
        length = int(min(s.str.len().max() if len(s) else 1, MAX_LENGTH)) or 1
        vocab: list[str] = []
        for p in range(length):
            chars = s.str[p]
            counts = chars.dropna().value_counts()
            kept = (
                frequent_counts(chars, None if subjects is None else np.asarray(subjects)[present])
                if protect
                else counts
            )
            if kept.empty and not counts.empty:
                kept = counts.iloc[:1]
            vocab.append("".join(sorted(kept.index)))
        return {"vocab": vocab}

    def sub_columns(self, stats: dict[str, Any]) -> list[SubColumnSpec]:
        return [SubColumnSpec(f"c{p}", FIRST_CODE + len(chars)) for p, chars in enumerate(stats["vocab"])]

    def encode(self, values: pd.Series, stats: dict[str, Any]) -> np.ndarray:
        s = _strings(values)
        null = s.isna().to_numpy()
        s = s.fillna("")
        codes = np.zeros((len(s), len(stats["vocab"])), dtype=np.int64)
        for p, chars in enumerate(stats["vocab"]):
            mapping = {c: FIRST_CODE + i for i, c in enumerate(chars)}
            ch = s.str[p]
            # Characters outside the kept vocabulary map to the most central kept one.
            fallback = FIRST_CODE + len(chars) // 2 if chars else END_CODE
            col = ch.map(mapping).to_numpy(dtype=float, na_value=np.nan)
            ended = ch.isna().to_numpy()
            codes[:, p] = np.where(ended, END_CODE, np.nan_to_num(col, nan=fallback))
        codes[null, 0] = NULL_CODE
        # After a null, a character rather than END: END is then seen only where real strings end,
        # so the codes allowed per position keep generated strings to the lengths seen in training.
        filler = [FIRST_CODE if chars else END_CODE for chars in stats["vocab"][1:]]
        codes[np.ix_(null, np.arange(1, codes.shape[1]))] = filler
        return codes

    def decode(self, codes: np.ndarray, stats: dict[str, Any], rng: np.random.Generator) -> pd.Series:
        n = len(codes)
        out = np.full(n, "", dtype=object)
        alive = np.ones(n, dtype=bool)
        for p, chars in enumerate(stats["vocab"]):
            table = np.array(["", ""] + list(chars), dtype=object)
            code = codes[:, p]
            alive &= code >= FIRST_CODE
            out[alive] = out[alive] + table[code[alive]]
        result = pd.Series(out, dtype=object)
        result[codes[:, 0] == NULL_CODE] = None
        return result
