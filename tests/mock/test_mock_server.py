"""The LiteLLM route against a real HTTP server on loopback (OpenAI-compatible, `api_base`).

No llama.cpp server could be installed here (llama-cpp-python's source build did not finish within
ten minutes on two shared cores), so `openai_server.OpenAIServer` serves the tiny local transformers
model with grammar-constrained decoding instead; LiteLLM talks to it over real HTTP.
"""

from __future__ import annotations

import pytest
from mock_helpers import assert_integrity
from openai_server import OpenAIServer

from synth_dagster import mock
from synth_dagster.mock.llm import LiteLLMBackend


@pytest.fixture(scope="module")
def server(tiny_model):
    with OpenAIServer(tiny_model, fail_first=1) as srv:
        yield srv


def test_reference_example_over_http(server, reference_tables):
    backend = LiteLLMBackend(
        "openai/tiny-local",
        api_key="sk-local",
        api_base=server.api_base,
        temperature=1.0,
        top_p=0.95,
        backoff_s=0.05,
    )
    result = mock.generate(
        tables=reference_tables,
        sample_size=1,
        backend=backend,
        n_workers=3,
        random_state=7,
        progress_bar=False,
    )
    assert_integrity(result.frames, reference_tables)
    assert result.frames["orders"].groupby("customer_id").size().between(2, 3).all()
    assert backend.stats.transport_retries == 1  # the server's first answer was a 429
    first = server.requests[1]
    assert first["response_format"]["type"] == "json_schema"  # structured outputs went over the wire
    assert (
        "customer_id"
        in first["response_format"]["json_schema"]["schema"]["properties"]["rows"]["items"]["properties"]
    )


def test_sample_with_api_base_needs_no_key_in_the_environment(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tables = {"cities": {"columns": {"name": {"dtype": "string"}, "big": {"dtype": "boolean"}}}}
    df = mock.sample(
        tables=tables,
        sample_size=3,
        model="openai/tiny-local",
        api_base=server.api_base,
        api_key="sk-local",
        progress_callback=lambda **kw: None,
    )
    assert len(df) == 3 and df.notna().all().all()
