"""`mock.sample` shows the reference's signature, parameter for parameter, with its defaults."""

from __future__ import annotations

import inspect

import pytest

from synth_dagster import mock

REFERENCE = [
    ("tables", inspect.Parameter.empty),
    ("sample_size", 4),
    ("existing_data", None),
    ("model", "openai/gpt-5-nano"),
    ("api_key", None),
    ("temperature", 1.0),
    ("top_p", 0.95),
    ("n_workers", 10),
    ("return_type", "auto"),
    ("progress_callback", None),
]


def test_sample_signature_mirrors_the_reference() -> None:
    params = inspect.signature(mock.sample).parameters
    named = [(p.name, p.default) for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert named == REFERENCE
    assert list(params)[-1] == "options"  # our additions (api_base, batch_size, ...) come after


def test_unknown_option_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="colour"):
        mock.sample(tables={"t": {"columns": {"a": {"dtype": "integer"}}}}, model="x", colour="red")
