"""assess().metrics is the reference's ModelMetrics on a small mixed-type table."""

import numpy as np
import pandas as pd

from synth_dagster.domain.metrics import ModelMetrics
from synth_dagster.qa import assess


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.choice(["a", "b", "c"], size=n),
            "t": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        }
    )


def test_evaluate_returns_model_metrics() -> None:
    m = assess(_table(300, 1), _table(300, 2), _table(300, 3)).metrics
    assert isinstance(m, ModelMetrics)
    assert m.accuracy is not None and m.distances is not None and m.similarity is not None
    assert 0.8 < m.accuracy.overall <= 1.0
    assert m.accuracy.coherence is None
    assert m.distances.dcr_share is not None
