"""Grammar-constrained decoding with a local causal LM: every sampled token keeps the text inside the
grammar (a JSON schema, a regex or a Lark grammar), so the answer parses whatever the weights.

The grammar library is llguidance: a prebuilt wheel (Rust core, no torch pin) whose token masks take
microseconds, which reads the tokenizer of any Hugging Face fast tokenizer and supports JSON-schema
`pattern`, `enum`, `minimum`/`maximum`, `maxLength` and `minItems`/`maxItems`. Tokens the grammar
forces (JSON keys, brackets) are fed to the model in one forward pass.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CausalLM", "GrammarError", "generate_constrained", "is_local_model", "load_causal_lm"]


class GrammarError(ValueError):
    """The grammar does not compile, or the model and the grammar disagree about a token."""


def is_local_model(model: str | Path) -> bool:
    """True when `model` is a folder holding a Hugging Face model (its config.json), or a GGUF file."""
    path = Path(str(model)).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return True
    return path.is_dir() and (path / "config.json").is_file()


@dataclass
class CausalLM:
    """A loaded model, its tokenizer and llguidance's view of that tokenizer. One generation at a
    time (`lock`): the forward passes of a small CPU model do not gain from threads."""

    path: str
    model: Any
    tokenizer: Any
    ll_tokenizer: Any
    max_positions: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prompt_ids(self, messages: list[dict[str, str]], max_new_tokens: int) -> list[int]:
        """Token ids of the chat (the tokenizer's chat template where it has one), cut from the left
        so that prompt and answer fit the model's context."""
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):
                ids = ids["input_ids"]
        else:
            text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant: "
            ids = self.tokenizer(text)["input_ids"]
        room = max(self.max_positions - max_new_tokens, 1)
        return list(ids)[-room:]


def load_causal_lm(path: str | Path, device: str = "cpu") -> CausalLM:
    """Load a causal LM and its tokenizer from a local folder, or from a GGUF file (which
    transformers dequantizes; needs the `gguf` and `accelerate` packages). No hub access."""
    import llguidance.hf
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = Path(str(path)).expanduser()
    kwargs: dict[str, Any] = {"local_files_only": True}
    if where.is_file():  # a .gguf file
        kwargs["gguf_file"] = where.name
        where = where.parent
    tokenizer = AutoTokenizer.from_pretrained(str(where), **kwargs)
    model = AutoModelForCausalLM.from_pretrained(str(where), dtype=torch.float32, **kwargs)
    model.to(device).eval()
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else model.config.eos_token_id
    n_vocab = max(int(model.config.vocab_size), len(tokenizer))
    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer, n_vocab=n_vocab, eos_token=eos)
    positions = getattr(model.config, "max_position_embeddings", None) or getattr(
        model.config, "n_positions", 2048
    )
    return CausalLM(str(path), model, tokenizer, ll_tokenizer, int(positions))


def _matcher(lm: CausalLM, schema: dict[str, Any]) -> Any:
    import llguidance

    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        json.dumps(schema), defaults={"whitespace_flexible": False}
    )
    matcher = llguidance.LLMatcher(lm.ll_tokenizer, grammar)
    if matcher.is_error():
        raise GrammarError(f"the JSON schema does not compile to a grammar: {matcher.get_error()}")
    return matcher


def generate_constrained(
    lm: CausalLM,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    *,
    max_new_tokens: int = 1024,
    temperature: float = 1.0,
    top_p: float = 1.0,
    seed: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> str:
    """The model's answer to `messages`, decoded token by token inside the JSON `schema`. The text
    is complete JSON unless `max_new_tokens` ran out first (or `should_stop` said so)."""
    import torch

    with lm.lock, torch.no_grad():
        matcher = _matcher(lm, schema)
        generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed() % 2**31)
        device = next(lm.model.parameters()).device
        feed = lm.prompt_ids(messages, max_new_tokens)
        out: list[int] = []
        cache = None
        while not matcher.is_stopped() and len(out) < max_new_tokens:
            if should_stop is not None and should_stop():
                break
            result = lm.model(
                input_ids=torch.tensor([feed], device=device), past_key_values=cache, use_cache=True
            )
            cache = result.past_key_values
            token = _sample(lm, matcher, result.logits[0, -1, :], temperature, top_p, generator)
            _consume(matcher, [token])
            forced = matcher.compute_ff_tokens() if not matcher.is_stopped() else []
            _consume(matcher, forced)
            feed = [token, *forced]
            out.extend(feed)
        return lm.tokenizer.decode(out, skip_special_tokens=True)


def _consume(matcher: Any, tokens: list[int]) -> None:
    if tokens and not matcher.consume_tokens(tokens):
        raise GrammarError(f"the grammar refused tokens {tokens}: {matcher.get_error()}")


def _allowed(lm: CausalLM, matcher: Any) -> Any:
    """The grammar's allowed next tokens as a bool tensor (llguidance's numpy bitmask, unpacked:
    its torch helper would torch.compile a kernel, which needs a C++ compiler at run time)."""
    import llguidance.numpy as ll_numpy
    import numpy as np
    import torch

    n_vocab = lm.ll_tokenizer.vocab_size
    mask = ll_numpy.allocate_token_bitmask(1, n_vocab)
    ll_numpy.fill_next_token_bitmask(matcher, mask, 0)
    bits = np.unpackbits(mask[0].view(np.uint8), bitorder="little")[:n_vocab]
    return torch.from_numpy(bits.astype(bool))


def _sample(lm: CausalLM, matcher: Any, logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    import torch

    logits = logits.float().cpu()
    n_vocab = lm.ll_tokenizer.vocab_size
    if logits.shape[-1] < n_vocab:  # the tokenizer has tokens past the embedding table
        logits = torch.nn.functional.pad(logits, (0, n_vocab - logits.shape[-1]), value=float("-inf"))
    logits = logits[:n_vocab].masked_fill(~_allowed(lm, matcher), float("-inf"))
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        keep = torch.cumsum(sorted_probs, dim=-1) - sorted_probs < top_p
        keep[0] = True
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs, 1, generator=generator))
