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

__all__ = [
    "CausalLM",
    "GrammarError",
    "Prompt",
    "generate_constrained",
    "generate_constrained_batch",
    "is_local_model",
    "load_causal_lm",
]


MIN_SHARED_PREFIX = 8  # tokens; a shorter shared beginning is not worth a forward pass of its own


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


@dataclass
class Prompt:
    """One sequence of a batched generation: its chat, the JSON schema its answer keeps to, its seed."""

    messages: list[dict[str, str]]
    schema: dict[str, Any]
    seed: int | None = None
    should_stop: Callable[[], bool] | None = None


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
    prompt = Prompt(messages, schema, seed, should_stop)
    return generate_constrained_batch(
        lm, [prompt], max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p
    )[0]


@dataclass
class _Seq:
    matcher: Any
    generator: Any
    should_stop: Callable[[], bool] | None
    out: list[int] = field(default_factory=list)
    done: bool = False


def generate_constrained_batch(
    lm: CausalLM,
    prompts: list[Prompt],
    *,
    max_new_tokens: int = 1024,
    temperature: float = 1.0,
    top_p: float = 1.0,
) -> list[str]:
    """`generate_constrained` for several prompts in one batch: on a CPU a small model's forward
    pass costs about the same for ten sequences as for one (it is bound by reading the weights).
    The prompts' shared beginning is computed once; the rest is left-padded, and so is each step's
    feed (a sampled token and the tokens the grammar forces after it)."""
    import torch

    with lm.lock, torch.no_grad():
        device = next(lm.model.parameters()).device
        seqs = [_start(lm, p) for p in prompts]
        pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0
        ids = [lm.prompt_ids(p.messages, max_new_tokens) for p in prompts]
        cache, feed, attn, positions = _prefill(lm, ids, pad, device)
        for _ in range(max_new_tokens):
            result = lm.model(
                input_ids=feed,
                attention_mask=attn,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,  # the head over the vocabulary only where the next token is drawn
            )
            cache = result.past_key_values
            logits = result.logits[:, -1, :]
            step = [_next(lm, s, logits[i], temperature, top_p, max_new_tokens) for i, s in enumerate(seqs)]
            if all(s.done for s in seqs):
                break
            n = max(len(t) for t in step)  # shorter feeds are left-padded, masked out
            feed = torch.tensor([[pad] * (n - len(t)) + t for t in step], device=device)
            new = torch.tensor([[0] * (n - len(t)) + [1] * len(t) for t in step], device=device)
            attn = torch.cat([attn, new], dim=-1)
            positions = positions[:, -1:] + new.cumsum(-1)
        return [lm.tokenizer.decode(s.out, skip_special_tokens=True) for s in seqs]


def _prefill(lm: CausalLM, ids: list[list[int]], pad: int, device: Any) -> tuple[Any, Any, Any, Any]:
    """The cache after the prompts' shared beginning (the system prompt and the table's
    description, computed once and copied to every sequence), and the rest of each prompt,
    left-padded, to feed next with its attention mask and positions."""
    import torch

    common = 0
    if len(ids) > 1:
        shortest = min(len(i) for i in ids)
        while common < shortest - 1 and all(i[common] == ids[0][common] for i in ids):
            common += 1
    cache = None
    if common >= MIN_SHARED_PREFIX:
        head = torch.tensor([ids[0][:common]], device=device)
        positions = torch.arange(common, device=device)[None, :]
        cache = lm.model(
            input_ids=head, position_ids=positions, use_cache=True, logits_to_keep=1
        ).past_key_values
        cache.batch_repeat_interleave(len(ids))
    else:
        common = 0
    tails = [i[common:] for i in ids]
    width = max(len(t) for t in tails)
    feed = torch.tensor([[pad] * (width - len(t)) + t for t in tails], device=device)
    attn = torch.tensor([[1] * common + [0] * (width - len(t)) + [1] * len(t) for t in tails], device=device)
    positions = (attn.cumsum(-1) - 1).clamp(min=0)[:, common:]
    return cache, feed, attn, positions


def _start(lm: CausalLM, prompt: Prompt) -> _Seq:
    import torch

    seed = prompt.seed if prompt.seed is not None else torch.seed() % 2**31
    return _Seq(_matcher(lm, prompt.schema), torch.Generator().manual_seed(seed), prompt.should_stop)


def _next(lm: CausalLM, seq: _Seq, logits: Any, temperature: float, top_p: float, limit: int) -> list[int]:
    """The tokens to feed `seq` next: a sampled token and the ones the grammar forces after it
    (JSON keys, brackets), all in one forward pass. A finished sequence gets a padding token
    whose output is ignored."""
    stop = seq.should_stop is not None and seq.should_stop()
    if seq.done or stop or seq.matcher.is_stopped() or len(seq.out) >= limit:
        seq.done = True
        return [lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else 0]
    token = _sample(lm, seq.matcher, logits, temperature, top_p, seq.generator)
    _consume(seq.matcher, [token])
    forced = [] if seq.matcher.is_stopped() else list(seq.matcher.compute_ff_tokens())
    _consume(seq.matcher, forced)
    seq.out.extend([token, *forced])
    return [token, *forced]


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
