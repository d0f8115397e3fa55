"""The LiteLLM route with LiteLLM's own `mock_response`: malformed JSON, wrong types, rate limits,
timeouts and refused structured outputs, and the clear error when nothing is configured."""

from __future__ import annotations

import json
import threading

import litellm
import pytest
from mock_helpers import assert_cancelled_after_first_batch, assert_integrity

from synth_dagster import mock
from synth_dagster.mock.llm import LiteLLMBackend

TABLES = {
    "people": {
        "prompt": "People",
        "columns": {
            "person_id": {"dtype": "integer"},
            "name": {"dtype": "string"},
            "age": {"dtype": "integer"},
            "level": {"dtype": "category", "values": ["low", "high"]},
        },
        "primary_key": "person_id",
    }
}


def _rows(*rows):
    return json.dumps({"rows": list(rows)})


GOOD = {"name": "Ann", "age": 31, "level": "low"}


class Script:
    """Replaces litellm.completion: each call answers with the next scripted mock_response."""

    def __init__(self, monkeypatch, answers):
        self.answers = list(answers)
        self.kwargs: list[dict] = []
        real = litellm.completion

        def completion(**kwargs):
            self.kwargs.append(kwargs)
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return real(**{**kwargs, "mock_response": answer})

        monkeypatch.setattr(litellm, "completion", completion)


def _backend(**kw):
    return LiteLLMBackend(
        "openai/gpt-4o-mini",
        api_key="sk-test",
        api_base=None,
        temperature=1.0,
        top_p=0.95,
        backoff_s=0.01,
        **kw,
    )


def _generate(backend, **kw):
    kw.setdefault("sample_size", 2)
    return mock.generate(tables=TABLES, backend=backend, progress_bar=False, **kw)


def test_broken_json_is_repaired_or_asked_again(monkeypatch):
    script = Script(
        monkeypatch,
        [
            "Sure, here you go: not json at all",  # unreadable: asked again
            '```json\n{"rows": [{"name": "Ann", "age": 31, "level": "low",}, {"name": "Bo", "age": 40, "level": "high"}\n```',
        ],
    )
    result = _generate(_backend())
    df = result.frames["people"]
    assert df["name"].tolist() == ["Ann", "Bo"] and df["person_id"].tolist() == [1, 2]
    assert result.rows.parse_failures == 1 and result.calls == 2 and result.retries == 1
    assert len(script.answers) == 0
    # structured outputs: the batch's JSON schema went along, categories as an enum
    fmt = script.kwargs[0]["response_format"]
    assert fmt["type"] == "json_schema"
    props = fmt["json_schema"]["schema"]["properties"]["rows"]["items"]["properties"]
    assert props["level"]["enum"] == ["low", "high"] and "person_id" not in props


def test_wrong_types_are_coerced_or_regenerated(monkeypatch):
    Script(
        monkeypatch,
        [
            _rows(
                {"name": "Ann", "age": "31", "level": "LOW"},  # coerced: "31" -> 31, LOW -> low
                {"name": "Bo", "age": "forty", "level": "high"},  # refused: regenerated
                {"name": "Cy", "age": 22.0, "level": "medium"},
            ),  # refused: not a category value
            _rows({"name": "Bo", "age": 40, "level": "high"}, {"name": "Cy", "age": 22, "level": "low"}),
        ],
    )
    result = _generate(_backend(), sample_size=3)
    df = result.frames["people"]
    assert df["age"].tolist() == [31, 40, 22] and df["level"].tolist() == ["low", "high", "low"]
    assert result.rows.repaired == 1 and result.rows.regenerated == 2 and result.rows.invalid == 2


def test_never_returns_invalid_rows(monkeypatch):
    Script(monkeypatch, [_rows({"name": "Ann", "age": "x", "level": "low"})] * 3)
    with pytest.raises(mock.MockGenerationError, match="no valid rows"):
        _generate(_backend(), sample_size=1, max_retries=2)


def test_rate_limits_and_timeouts_are_retried_with_backoff(monkeypatch):
    Script(
        monkeypatch,
        [
            "litellm.RateLimitError",  # LiteLLM's mock of a 429
            litellm.Timeout("timed out", model="gpt-4o-mini", llm_provider="openai"),
            _rows(GOOD, GOOD),
        ],
    )
    backend = _backend()
    result = _generate(backend)
    assert len(result.frames["people"]) == 2
    assert backend.stats.transport_retries == 2 and result.calls == 3 and result.retries == 0


def test_persistent_rate_limit_gives_up_with_a_message(monkeypatch):
    Script(monkeypatch, ["litellm.RateLimitError"] * 3)
    with pytest.raises(mock.MockGenerationError, match="gave up after 3 attempts"):
        _generate(_backend(max_retries=2), sample_size=1)


def test_refused_structured_outputs_fall_back_to_text(monkeypatch):
    refused = litellm.BadRequestError("response_format is not supported", model="m", llm_provider="openai")
    script = Script(monkeypatch, [refused, "rows: " + _rows(GOOD)])
    result = _generate(_backend(), sample_size=1)
    assert len(result.frames["people"]) == 1
    assert "response_format" in script.kwargs[0] and "response_format" not in script.kwargs[1]


def test_no_key_configured_is_a_clear_error_before_any_call(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    script = Script(monkeypatch, [])
    with pytest.raises(mock.MockConfigError, match="OPENAI_API_KEY") as info:
        mock.sample(tables=TABLES, model="openai/gpt-5-nano")
    assert "api_base" in str(info.value) and script.kwargs == []
    with pytest.raises(mock.MockConfigError, match="provider"):
        mock.sample(tables=TABLES, model="no-such-model-xyz")


def test_api_key_is_masked(monkeypatch):
    backend = LiteLLMBackend(
        "openai/gpt-4o-mini", api_key="sk-secret-123", api_base=None, temperature=1, top_p=1
    )
    assert "sk-secret-123" not in repr(backend)
    auth = litellm.AuthenticationError(
        "Incorrect API key provided: sk-secret-123", model="m", llm_provider="openai"
    )
    Script(monkeypatch, [auth])
    with pytest.raises(mock.MockConfigError) as info:
        _generate(backend, sample_size=1)
    assert "sk-secret-123" not in str(info.value)


def test_cancel_stops_before_the_next_batch(monkeypatch):
    Script(monkeypatch, [_rows(GOOD)] * 10)
    assert_cancelled_after_first_batch(TABLES, backend=_backend())


def test_concurrent_batches_and_parents_first(monkeypatch):
    tables = {
        "teams": {
            "columns": {"team_id": {"dtype": "integer"}, "city": {"dtype": "string"}},
            "primary_key": "team_id",
        },
        "players": {
            "columns": {
                "player_id": {"dtype": "integer"},
                "team_id": {"dtype": "integer"},
                "name": {"dtype": "string"},
            },
            "primary_key": "player_id",
            "foreign_keys": [
                {"column": "team_id", "referenced_table": "teams", "prompt": "exactly 2 players"}
            ],
        },
    }
    lock = threading.Lock()
    real = litellm.completion

    def completion(**kwargs):
        schema = kwargs["response_format"]["json_schema"]["schema"]
        keys = list(schema["properties"]["rows"]["items"]["properties"])
        text = kwargs["messages"][1]["content"]
        n = 2 if "exactly 2 rows" in text else 3
        with lock:
            return real(**{**kwargs, "mock_response": _rows(*[dict.fromkeys(keys, "x")] * n)})

    monkeypatch.setattr(litellm, "completion", completion)
    data = mock.sample(
        tables=tables,
        sample_size=6,
        batch_size=3,
        n_workers=4,
        model="openai/gpt-4o-mini",
        api_key="sk-test",
        progress_callback=lambda **kw: None,
    )
    assert len(data["teams"]) == 6 and len(data["players"]) == 12
    assert data["players"].groupby("team_id").size().eq(2).all()
    assert_integrity(data, tables)


def test_repeated_string_keys_are_made_unique(monkeypatch):
    tables = {
        "codes": {"columns": {"code": {"dtype": "string"}, "n": {"dtype": "integer"}}, "primary_key": "code"}
    }
    same = {"code": "A-1", "n": 1}
    Script(monkeypatch, [_rows(same, same, same)])
    result = mock.generate(tables=tables, sample_size=3, backend=_backend(), progress_bar=False)
    assert result.frames["codes"]["code"].tolist() == ["A-1", "A-1-2", "A-1-3"]


def test_progress_bar_shows_rows_done_of_total(monkeypatch, capsys):
    Script(monkeypatch, [_rows(GOOD, GOOD)])
    mock.generate(tables=TABLES, sample_size=2, backend=_backend(), progress_bar=True)
    err = capsys.readouterr().err
    assert "mock people" in err and "1/1" in err and "2 rows" in err
