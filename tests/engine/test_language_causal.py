"""A local Hugging Face causal LM (a tiny Llama and a tokenizer trained on the test data, written
with save_pretrained) fine-tuned with LoRA, exported and imported with its generator, and the
errors for a model that is not there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synth_dagster.domain import ConfigError
from synth_dagster.sdk import SynthClient

COLORS = ["red", "green", "blue"]


def _frame(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    colors = rng.choice(COLORS, n)
    return pd.DataFrame({"color": colors, "text": [f"a {c} box" for c in colors]})


def _tiny_llama(path: Path, texts: list[str]) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(texts + ["color: red\ntext: "], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<eos>", pad_token="<eos>")
    fast.save_pretrained(path)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.eos_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


def _config(frame: pd.DataFrame, model: str) -> dict:
    return {
        "name": "hf",
        "random_state": 1,
        "tables": [
            {
                "name": "t",
                "data": frame,
                "columns": [
                    {"name": "color", "model_encoding_type": "TABULAR_CATEGORICAL"},
                    {"name": "text", "model_encoding_type": "LANGUAGE_TEXT"},
                ],
                "tabular_model_configuration": {"max_epochs": 2, "model": "small"},
                "language_model_configuration": {"model": model, "max_epochs": 3, "batch_size": 16},
            }
        ],
    }


def test_lora_fine_tuned_model_survives_export_and_import(tmp_path: Path) -> None:
    frame = _frame()
    base = _tiny_llama(tmp_path / "tiny-llama", frame["text"].tolist())
    client = SynthClient(tmp_path / "store", quiet=True)
    generator = client.train(config=_config(frame, str(base)))
    first = client.probe(generator, size=20, config={"random_state": 3})
    assert list(first.columns) == ["color", "text"] and first["text"].map(type).eq(str).all()

    exported = generator.export_to_file(tmp_path / "hf.zip")
    other = SynthClient(tmp_path / "second-store", quiet=True)
    imported = other.generators.import_from_file(exported)
    second = other.probe(imported, size=20, config={"random_state": 3})
    pd.testing.assert_frame_equal(first, second)
    adapter = list((tmp_path / "store").rglob("adapter_model.safetensors"))
    assert adapter, "the LoRA adapter is saved as safetensors"


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("someone/unknown-model", r"is no local folder; the model hub cannot be reached"),
        ("{empty}", r"holds no Hugging Face model \(no config.json\)"),
    ],
)
def test_model_that_is_not_there_is_refused(tmp_path: Path, model: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    client = SynthClient(tmp_path / "store", quiet=True)
    with pytest.raises(ConfigError, match=message):
        client.generators.create(_config(_frame(), model.format(empty=tmp_path / "empty")))
