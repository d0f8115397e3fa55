"""A tiny random causal LM (GPT-2 architecture, a byte-level BPE tokenizer trained on a few strings),
saved with `save_pretrained`: for tests, benchmarks and offline demos where no real model can be had.

Its text is noise, but under a grammar it still writes valid JSON, which is what the mock tests check.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["build_tiny_model"]

_CORPUS = [
    '{"rows": [{"name": "Alice Smith", "age": 31, "price": 12.5, "active": true}]}',
    "customers orders items warehouses employees patients guests hotel store",
    "2024-05-17 2025-01-02T10:30:00 EUR USD gold silver bronze pending shipped delivered",
    "John Davis, Maria Garcia, Wei Chen, Anna Berg, Luca Rossi; ORD-001 C-102 W-7",
]


def build_tiny_model(
    path: str | Path, *, vocab_size: int = 512, width: int = 32, layers: int = 2, seed: int = 0
) -> Path:
    """Write a random GPT-2 model and its fast tokenizer to `path`; returns the folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: any text can be written
    )
    tokenizer.train_from_iterator(_CORPUS * 20, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )
    fast.save_pretrained(path)
    config = GPT2Config(
        vocab_size=len(fast),
        n_positions=4096,
        n_embd=width,
        n_layer=layers,
        n_head=2,
        bos_token_id=fast.eos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    torch.manual_seed(seed)
    GPT2LMHeadModel(config).save_pretrained(path)
    return path
