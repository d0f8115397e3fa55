"""TABULAR_CATEGORICAL: one sub-column over the non-rare categories.

Codes: 0 = null, 1 = rare (or unseen), 2.. = categories.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synth_dagster.engine.encoding.base import RARE_TOKEN, SUBJECTS, SubColumnSpec, frequent_counts, to_python
from synth_dagster.engine.encoding.private import DP_BUDGET, dp_frequent_counts

NULL_CODE = 0
RARE_CODE = 1
FIRST_CODE = 2
# AUTO replaces rare values by sampled frequent ones (SAMPLE) where the `_RARE_` token would fill more
# than this share of a string column: in a small table most names are held by fewer than 5 rows
# (a 93-row cars table's manufacturers), and a column that is mostly `_RARE_` is no use to anyone.
AUTO_SAMPLE_RARE_SHARE = 0.25


def rare_method(requested: str | None, counts: pd.Series, values: pd.Series) -> str:
    if requested not in (None, "AUTO"):
        return str(requested)
    present = int(values.notna().sum())
    rare_share = 1.0 - float(counts.sum()) / present if present else 0.0
    return "SAMPLE" if rare_share > AUTO_SAMPLE_RARE_SHARE and len(counts) else "CONSTANT"


class CategoricalEncoder:
    def analyze(self, values: pd.Series, *, protect: bool, options: dict[str, Any]) -> dict[str, Any]:
        if protect and DP_BUDGET in options:
            counts = dp_frequent_counts(values, options.get(SUBJECTS), options[DP_BUDGET])
        elif protect:
            counts = frequent_counts(values, options.get(SUBJECTS))
        else:
            counts = values.dropna().value_counts(sort=True)
        return {
            "categories": [to_python(v) for v in counts.index],
            "counts": [int(c) for c in counts.to_numpy()],
            "rare_method": rare_method(options.get("rare_category_replacement_method"), counts, values),
            # A constant token only makes sense where the column holds strings.
            "string_valued": bool(options.get("string_valued", True)),
        }

    def sub_columns(self, stats: dict[str, Any]) -> list[SubColumnSpec]:
        return [SubColumnSpec("cat", FIRST_CODE + len(stats["categories"]))]

    def encode(self, values: pd.Series, stats: dict[str, Any]) -> np.ndarray:
        cats = stats["categories"]
        # get_indexer gives -1 for a value outside the categories (pandas deprecates Categorical for it)
        codes = pd.Index(cats, dtype=object).get_indexer(values.astype(object)).astype(np.int64) + FIRST_CODE
        codes[codes == FIRST_CODE - 1] = RARE_CODE
        codes[values.isna().to_numpy()] = NULL_CODE
        return codes[:, None]

    def decode(self, codes: np.ndarray, stats: dict[str, Any], rng: np.random.Generator) -> pd.Series:
        cats = stats["categories"]
        code = codes[:, 0]
        table = np.empty(len(cats) + FIRST_CODE, dtype=object)
        table[NULL_CODE] = None
        table[RARE_CODE] = RARE_TOKEN
        table[FIRST_CODE:] = cats
        out = table[code]
        rare = code == RARE_CODE
        if rare.any() and (stats["rare_method"] == "SAMPLE" or not stats["string_valued"]) and cats:
            p = np.asarray(stats["counts"], dtype=float)
            out[rare] = np.asarray(cats, dtype=object)[
                rng.choice(len(cats), size=int(rare.sum()), p=p / p.sum())
            ]
        elif rare.any() and not cats and not stats["string_valued"]:
            out[rare] = None  # no category to sample from, and the token is not a value of this column
        return pd.Series(out, dtype=object)
