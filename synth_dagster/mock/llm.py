"""LLM access through LiteLLM: any provider by model string, or an OpenAI-compatible server
(vLLM, Ollama, llama.cpp's server) through `api_base`.

- Before any call, `check()` refuses a model without a key or endpoint, naming the environment
  variables the provider reads.
- Structured outputs: the batch's JSON schema as `response_format` (json_schema, strict) where LiteLLM
  knows the model supports it, and always with `api_base`; a server that refuses it is asked again
  without, and the text is then parsed leniently (mock.parsing).
- Timeouts, rate limits (429), dropped connections and 5xx are retried with exponential backoff.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from synth_dagster.mock.backends import BackendStats, Request
from synth_dagster.mock.errors import MockCancelledError, MockConfigError, MockGenerationError

__all__ = ["LiteLLMBackend"]

# LiteLLM fetches its model price list from the internet at import unless told to use its own copy
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

MAX_BACKOFF_S = 30.0


def _litellm() -> Any:
    try:
        import litellm
    except ImportError:  # pragma: no cover - the mock extra is missing
        raise MockConfigError("LLM mock data needs LiteLLM: pip install 'synth_dagster[mock]'") from None
    litellm.suppress_debug_info = True
    return litellm


def _retryable(litellm: Any) -> tuple[type[BaseException], ...]:
    return (
        litellm.Timeout,
        litellm.RateLimitError,
        litellm.APIConnectionError,
        litellm.ServiceUnavailableError,
        litellm.InternalServerError,
        litellm.BadGatewayError,
    )


class LiteLLMBackend:
    """`bounded`: send the bounded schema (string patterns and lengths, number ranges, row counts;
    see mock.schema). Default: with `api_base`, whose self-hosted servers (llama.cpp, vLLM, Ollama)
    decode under a grammar that honours them and often serve small models that need them."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        api_base: str | None,
        temperature: float,
        top_p: float,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        completion_kwargs: dict[str, Any] | None = None,
        bounded: bool | None = None,
    ) -> None:
        self.name = model
        self.bounded = api_base is not None if bounded is None else bounded
        self._api_key = api_key
        self.api_base = api_base
        self.temperature = temperature
        self.top_p = top_p
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.completion_kwargs = dict(completion_kwargs or {})
        self.stats = BackendStats()
        self._structured: bool | None = None

    def __repr__(self) -> str:
        key = "***" if self._api_key else None
        return f"LiteLLMBackend(model={self.name!r}, api_base={self.api_base!r}, api_key={key})"

    def check(self) -> None:
        litellm = _litellm()
        try:
            litellm.get_llm_provider(self.name, api_base=self.api_base)
        except Exception:
            raise MockConfigError(
                f"model {self.name!r} names no LiteLLM provider; write it as 'provider/model' "
                "(e.g. 'openai/gpt-5-nano', 'ollama/llama3.2'), or give the path of a local "
                "Hugging Face model folder"
            ) from None
        if self._api_key or self.api_base or "mock_response" in self.completion_kwargs:
            return
        env = litellm.validate_environment(model=self.name)
        if not env.get("keys_in_environment", False):
            missing = ", ".join(env.get("missing_keys") or []) or "the provider's key variable"
            raise MockConfigError(
                f"no API key or endpoint configured for model {self.name!r}: pass api_key=..., set "
                f"{missing} in the environment, or pass api_base=... for an OpenAI-compatible server"
            )

    def _structured_ok(self) -> bool:
        if self._structured is None:
            try:
                supported = bool(_litellm().supports_response_schema(model=self.name))
            except Exception:
                supported = False
            self._structured = supported or self.api_base is not None
        return self._structured

    def _kwargs(self, schema: dict[str, Any], seed: int | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.name,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "timeout": self.timeout,
            "num_retries": 0,
            "drop_params": True,
            **self.completion_kwargs,
        }
        if self._api_key:
            kwargs["api_key"] = self._api_key
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if seed is not None:
            kwargs["seed"] = seed
        if self._structured_ok():
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "rows", "schema": schema, "strict": True},
            }
        return kwargs

    def complete(self, request: Request) -> str:
        litellm = _litellm()
        retryable = _retryable(litellm)
        for attempt in range(self.max_retries + 1):
            if request.should_stop():
                raise MockCancelledError("cancelled")
            kwargs = self._kwargs(request.schema, request.seed)
            self.stats.add(calls=1)
            try:
                response = litellm.completion(messages=request.messages, **kwargs)
                return response.choices[0].message.content or ""
            except (litellm.BadRequestError, litellm.UnsupportedParamsError) as exc:
                if "response_format" in kwargs and self._structured:
                    self._structured = False  # the server refused structured outputs: ask for text
                    continue
                raise MockGenerationError(
                    f"{self.name}: the request was refused: {self._short(exc)}"
                ) from None
            except litellm.AuthenticationError as exc:
                raise MockConfigError(f"{self.name}: the API key was refused: {self._short(exc)}") from None
            except retryable as exc:
                if attempt >= self.max_retries:
                    raise MockGenerationError(
                        f"{self.name}: gave up after {attempt + 1} attempts: {self._short(exc)}"
                    ) from None
                self.stats.add(transport_retries=1)
                time.sleep(min(self.backoff_s * 2**attempt, MAX_BACKOFF_S) * (0.5 + random.random() / 2))
        raise MockGenerationError(f"{self.name}: no answer")  # pragma: no cover

    def _short(self, exc: BaseException) -> str:
        """The error's first line, without the API key."""
        text = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        return text.replace(self._api_key, "***") if self._api_key else text
