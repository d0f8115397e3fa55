"""Where the rows come from: a backend answers one batch's chat messages with text that should hold
the batch's JSON. Two kinds: `LiteLLMBackend` (any provider, or an OpenAI-compatible server through
`api_base`) and `LocalBackend` (a local Hugging Face causal LM, grammar-constrained)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Backend", "BackendStats", "LocalBackend", "make_backend"]


@dataclass
class BackendStats:
    """Calls made and transport retries (timeouts, rate limits, dropped connections)."""

    calls: int = 0
    transport_retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, calls: int = 0, transport_retries: int = 0) -> None:
        with self._lock:
            self.calls += calls
            self.transport_retries += transport_retries


class Backend(Protocol):
    name: str
    bounded: bool  # True: the backend enforces the bounded schema (grammar), see mock.schema
    stats: BackendStats

    def check(self) -> None:
        """Raise MockConfigError when a call cannot work (no key, no endpoint); makes no call."""

    def complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any],
        *,
        seed: int | None,
        should_stop: Callable[[], bool],
    ) -> str:
        """The model's answer as text."""


class LocalBackend:
    """A local Hugging Face causal LM; every answer is decoded inside the batch's JSON schema."""

    bounded = True

    def __init__(self, path: str, *, temperature: float, top_p: float, max_new_tokens: int = 1536) -> None:
        self.name = str(path)
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.stats = BackendStats()
        self._lm: Any = None
        self._load_lock = threading.Lock()

    def check(self) -> None:
        self._model()

    def _model(self) -> Any:
        with self._load_lock:
            if self._lm is None:
                from synth_dagster.textgen import load_causal_lm

                self._lm = load_causal_lm(self.name)
            return self._lm

    def complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any],
        *,
        seed: int | None,
        should_stop: Callable[[], bool],
    ) -> str:
        from synth_dagster.textgen import generate_constrained

        self.stats.add(calls=1)
        return generate_constrained(
            self._model(),
            messages,
            schema,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            seed=seed,
            should_stop=should_stop,
        )


def make_backend(
    model: str,
    *,
    api_key: str | None,
    api_base: str | None,
    temperature: float,
    top_p: float,
    timeout: float,
    max_retries: int,
    completion_kwargs: dict[str, Any] | None = None,
) -> Backend:
    """A local folder with a model -> LocalBackend; anything else is a LiteLLM model string."""
    from synth_dagster.textgen.constrained import is_local_model

    if is_local_model(model):
        return LocalBackend(model, temperature=temperature, top_p=top_p)
    from synth_dagster.mock.llm import LiteLLMBackend

    return LiteLLMBackend(
        model,
        api_key=api_key,
        api_base=api_base,
        temperature=temperature,
        top_p=top_p,
        timeout=timeout,
        max_retries=max_retries,
        completion_kwargs=completion_kwargs,
    )
