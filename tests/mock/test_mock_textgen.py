"""Batched grammar-constrained decoding: the local route decodes concurrent batches as one."""

from __future__ import annotations

import pytest
from mock_helpers import assert_cancelled_after_first_batch

from synth_dagster import mock
from synth_dagster.mock.backends import LocalBackend
from synth_dagster.textgen import Prompt, generate_constrained, generate_constrained_batch, load_causal_lm

SCHEMA = {
    "type": "object",
    "properties": {
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z ]{1,12}$"},
                    "age": {"type": "integer", "minimum": 0, "maximum": 99},
                },
                "required": ["name", "age"],
                "additionalProperties": False,
            },
            "minItems": 2,
            "maxItems": 2,
        }
    },
    "required": ["rows"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def lm(tiny_model):
    return load_causal_lm(tiny_model)


SHARED = "Mock rows of the table people: customers of a hardware store in Vienna, Austria. "


@pytest.mark.parametrize("shared", ["", SHARED], ids=["padded", "shared-prefix"])
def test_a_batch_decodes_as_each_prompt_alone(lm, shared):
    # prompts of different lengths (left-padded), with and without a shared beginning (computed
    # once, then copied to every sequence): neither may change any answer
    chats = [[{"role": "user", "content": shared + "people " * n}] for n in (1, 7, 20)]
    alone = [generate_constrained(lm, c, SCHEMA, temperature=0, max_new_tokens=200) for c in chats]
    batch = generate_constrained_batch(
        lm, [Prompt(c, SCHEMA) for c in chats], temperature=0, max_new_tokens=200
    )
    assert batch == alone
    assert all(a.startswith('{"rows":[{"name":') and a.endswith("}]}") for a in batch)


def test_seeded_sampling_in_a_batch_is_reproducible(lm):
    prompts = [Prompt([{"role": "user", "content": "x"}], SCHEMA, seed=s) for s in (1, 2, 1)]
    first = generate_constrained_batch(lm, prompts, temperature=1.0, max_new_tokens=200)
    assert first == generate_constrained_batch(lm, prompts, temperature=1.0, max_new_tokens=200)
    assert first[0] == first[2]


def test_concurrent_batches_share_one_decode(tiny_model, monkeypatch):
    import synth_dagster.textgen as textgen

    sizes: list[int] = []
    real = textgen.generate_constrained_batch

    def counting(lm, prompts, **kw):
        sizes.append(len(prompts))
        return real(lm, prompts, **kw)

    monkeypatch.setattr(textgen, "generate_constrained_batch", counting)
    tables = {"t": {"columns": {"word": {"dtype": "string"}, "n": {"dtype": "integer"}}}}
    backend = LocalBackend(tiny_model, temperature=1.0, top_p=0.95, max_batch=4)
    result = mock.generate(
        tables=tables,
        sample_size=8,
        batch_size=2,
        n_workers=4,
        backend=backend,
        random_state=0,
        progress_bar=False,
    )
    assert len(result.frames["t"]) == 8 and result.frames["t"].notna().all().all()
    assert sum(sizes) == result.calls and max(sizes) > 1  # the four batches did not go one by one
    assert max(sizes) <= 4


def test_cancel_stops_the_local_route(tiny_model):
    assert_cancelled_after_first_batch({"t": {"columns": {"word": {"dtype": "string"}}}}, model=tiny_model)
