"""Where the rows come from: a backend answers one batch's chat messages with text that should hold
the batch's JSON. Two kinds: `LiteLLMBackend` (any provider, or an OpenAI-compatible server through
`api_base`) and `LocalBackend` (a local Hugging Face causal LM, grammar-constrained)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

__all__ = ["Backend", "BackendStats", "LLMSettings", "LocalBackend", "Request", "make_backend"]


@dataclass(frozen=True)
class LLMSettings:
    """Which model and how to sample it; `make_backend` picks the route from `model`."""

    model: str
    api_key: str | None = None
    api_base: str | None = None
    temperature: float = 1.0
    top_p: float = 0.95
    timeout: float = 120.0
    max_retries: int = 3


@dataclass(frozen=True)
class Request:
    """One batch's question: the chat, the JSON schema of the answer, and the sampling seed."""

    messages: list[dict[str, str]]
    schema: dict[str, Any]
    seed: int | None = None
    should_stop: Callable[[], bool] = lambda: False


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

    def complete(self, request: Request) -> str:
        """The model's answer as text."""


class LocalBackend:
    """A local Hugging Face causal LM; every answer is decoded inside the batch's JSON schema.

    Requests that arrive together (from `n_workers` threads) are decoded as one batch of up to
    `max_batch` sequences (see textgen.generate_constrained_batch); `threads` sets torch's CPU threads
    (one is fastest on a machine whose cores are busy with other work)."""

    bounded = True

    def __init__(
        self,
        path: str,
        *,
        temperature: float,
        top_p: float,
        max_new_tokens: int = 1536,
        max_batch: int = 10,
        threads: int | None = None,
    ) -> None:
        self.name = str(path)
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.threads = threads
        self.stats = BackendStats()
        self._lm: Any = None
        self._load_lock = threading.Lock()
        self._batcher = _Batcher(self._decode, max_batch)

    def check(self) -> None:
        self._model()

    def _model(self) -> Any:
        with self._load_lock:
            if self._lm is None:
                from synth_dagster.textgen import load_causal_lm

                if self.threads:
                    import torch

                    torch.set_num_threads(self.threads)
                self._lm = load_causal_lm(self.name)
            return self._lm

    def complete(self, request: Request) -> str:
        self.stats.add(calls=1)
        return self._batcher.submit(request)

    def _decode(self, requests: list[Request]) -> list[str]:
        from synth_dagster.textgen import Prompt, generate_constrained_batch

        prompts = [Prompt(r.messages, r.schema, r.seed, r.should_stop) for r in requests]
        return generate_constrained_batch(
            self._model(),
            prompts,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
        )


@dataclass
class _Slot:
    request: Request
    answer: str | None = None
    error: BaseException | None = None
    done: bool = False


class _Batcher:
    """Joins the requests of concurrent threads into batches: the first thread to find the decoder
    idle waits up to `wait_s` for company, decodes the queue's first `max_batch` requests and hands
    every thread its answer (or the batch's error)."""

    def __init__(self, decode: Callable[[list[Request]], list[str]], max_batch: int, wait_s: float = 0.05):
        self._decode = decode
        self._max = max(1, max_batch)
        self._wait_s = wait_s
        self._cond = threading.Condition()
        self._queue: list[_Slot] = []
        self._busy = False

    def submit(self, request: Request) -> str:
        slot = _Slot(request)
        with self._cond:
            self._queue.append(slot)
            self._cond.notify_all()
            while not slot.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                self._cond.wait_for(lambda: len(self._queue) >= self._max, timeout=self._wait_s)
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                self._cond.release()
                try:
                    self._run(batch)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.answer or ""

    def _run(self, batch: list[_Slot]) -> None:
        try:
            answers = self._decode([s.request for s in batch])
        except BaseException as exc:  # every waiting thread sees the failure, not only the leader
            for s in batch:
                s.error, s.done = exc, True
            return
        for s, answer in zip(batch, answers, strict=True):
            s.answer, s.done = answer, True


def make_backend(settings: LLMSettings, completion_kwargs: dict[str, Any] | None = None) -> Backend:
    """A local folder with a model -> LocalBackend; anything else is a LiteLLM model string."""
    from synth_dagster.textgen.constrained import is_local_model

    if is_local_model(settings.model):
        return LocalBackend(settings.model, temperature=settings.temperature, top_p=settings.top_p)
    from synth_dagster.mock.llm import LiteLLMBackend

    return LiteLLMBackend(**asdict(settings), completion_kwargs=completion_kwargs)
