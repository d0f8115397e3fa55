"""LANGUAGE_CATEGORICAL / NUMERIC / DATETIME: decoded under llguidance grammars, every value is valid
(a learned category, a number in the protected range and precision, a date in range)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.language.formats import learn_format

CITIES = ["Vienna", "Graz", "Linz", "Salzburg"]


def _frame(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    kind = rng.choice(["a", "b"], n)
    city = np.where(kind == "a", rng.choice(CITIES[:2], n), rng.choice(CITIES[2:], n)).astype(object)
    city[:2] = ["Innsbruck", "Bregenz"]  # categories of one record each: not learned (value protection)
    price = np.round(rng.uniform(10, 500, n), 2)
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    return pd.DataFrame({"kind": kind, "city": city, "price": price, "day": day})


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = _frame()
    config = GeneratorConfig.model_validate(
        {
            "name": "g",
            "random_state": 2,
            "tables": [
                {
                    "name": "t",
                    "columns": [
                        {"name": "kind", "model_encoding_type": "TABULAR_CATEGORICAL"},
                        {"name": "city", "model_encoding_type": "LANGUAGE_CATEGORICAL"},
                        {"name": "price", "model_encoding_type": "LANGUAGE_NUMERIC"},
                        {"name": "day", "model_encoding_type": "LANGUAGE_DATETIME"},
                    ],
                    "tabular_model_configuration": {"max_epochs": 2, "model": "small"},
                    # few epochs on purpose: an undertrained model must still write valid values
                    "language_model_configuration": {"max_epochs": 2},
                }
            ],
        }
    )
    workspace = tmp_path_factory.mktemp("constrained") / "g"
    train_generator(config, {"t": frame}, workspace)
    out = TrainedGenerator(workspace).generate(
        {"random_state": 1, "tables": [{"name": "t", "configuration": {"sample_size": 200}}]}
    )
    return frame, out["t"]


def test_categorical_values_are_learned_categories_only(drawn) -> None:
    _, out = drawn
    assert out["city"].notna().all()
    assert set(out["city"]) <= set(CITIES)  # the single-record categories never come back


def test_numeric_values_parse_within_range_and_precision(drawn) -> None:
    frame, out = drawn
    fmt = learn_format("price", "LANGUAGE_NUMERIC", frame["price"], 5)
    prices = pd.to_numeric(out["price"], errors="raise")
    assert prices.notna().all()
    assert ((prices >= fmt.low) & (prices <= fmt.high)).all()
    assert fmt.low > frame["price"].min() and fmt.high < frame["price"].max()  # protected ends
    assert np.allclose(prices, prices.round(2))


def test_datetime_values_are_valid_dates_in_range(drawn) -> None:
    frame, out = drawn
    days = pd.to_datetime(out["day"], errors="raise")
    assert days.notna().all()
    assert days.min() >= frame["day"].min() and days.max() <= frame["day"].max()


def test_grammars_only_match_valid_values() -> None:
    import re

    dates = pd.Series(pd.to_datetime(["2020-01-31", "2022-12-01"]))
    grammar = re.compile(learn_format("d", "LANGUAGE_DATETIME", dates, 1).grammar())
    assert grammar.fullmatch("2021-04-30") and not grammar.fullmatch("2021-04-31")
    assert not grammar.fullmatch("2021-02-29") and not grammar.fullmatch("2019-05-01")
    numbers = learn_format("n", "LANGUAGE_NUMERIC", pd.Series([-3.5, 12.25]), 1)
    assert numbers.decimals == 2 and re.fullmatch(numbers.grammar(), "-3.50")
    assert not re.fullmatch(numbers.grammar(), "1.5")
