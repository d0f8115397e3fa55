"""MOSTLY_AI/LSTMFromScratch-3m: the language model of a table's LANGUAGE_* columns.

`fit` learns the columns' formats and a tokenizer from the training rows, serializes each row as
`<c0> value </s> <c1> value </s> ...` after its context codes, and trains the context LSTM.
Saved as JSON (formats, shape, tokenizer) and a `weights_only` state dict: nothing is unpickled.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.language.formats import ColumnFormat, learn_format
from synth_dagster.engine.language.lstm import ContextLSTM, LSTMShape, few_threads, parameter_count
from synth_dagster.engine.language.sampling import SampleSettings, length_bin, sample_columns
from synth_dagster.engine.language.tokenizer import TextTokenizer, train_tokenizer
from synth_dagster.engine.language.training import LanguageSettings, TokenRows, train_language_model
from synth_dagster.engine.progress import ProgressCallback, StopCheck
from synth_dagster.engine.training import TrainingReport

LSTM_MODEL = "MOSTLY_AI/LSTMFromScratch-3m"
PROTECTION_RECORDS = 5  # value protection's k: tokens and categories of fewer records are not learned
MAX_TOKENS = 256  # per column value: longer texts are cut for training
VOCAB_SIZE = 2000
POSITIONS = 512  # byte positions the LSTM sees; later bytes share the last position's embedding
META, WEIGHTS, TOKENIZER = "language.json", "language.pt", "language-tokenizer.json"


@dataclass
class LanguageModel:
    formats: list[ColumnFormat]
    tokenizer: TextTokenizer
    network: ContextLSTM
    limits: list[int]  # most tokens sampled per column value
    report: TrainingReport | None = None
    flexible: bool = False  # trained on shuffled column orders: seeded columns can go first
    length_edges: list[list[int] | None] | None = None  # per column its length bins (free text)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.formats]

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        encodings: dict[str, str],
        codes: np.ndarray,
        cards: tuple[int, ...],
        validation: np.ndarray,
        settings: LanguageSettings,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> LanguageModel:
        """Learn `frame`'s columns (one encoding each) from rows whose context codes are `codes`."""
        k = PROTECTION_RECORDS if settings.value_protection else 1
        formats = [learn_format(c, encodings[c], frame[c][~validation], k) for c in frame.columns]
        texts = [f.texts(frame[f.name]) for f in formats]
        training = [t for column in texts for t, v in zip(column, validation, strict=True) if t and not v]
        tokenizer = train_tokenizer(training, len(formats), vocab_size=VOCAB_SIZE, min_records=k)
        orders = _orders(len(codes), len(formats), settings)
        edges = [_length_edges(f, t, validation, tokenizer) for f, t in zip(formats, texts, strict=True)]
        rows, limits = _token_rows(tokenizer, formats, texts, codes, orders, edges)
        torch.manual_seed(settings.random_state if settings.random_state is not None else 0)
        network = ContextLSTM(LSTMShape(tokenizer.vocab_size, tuple(cards), positions=POSITIONS))
        with few_threads():
            report = train_language_model(network, rows, validation, settings, on_progress, should_stop)
        return cls(formats, tokenizer, network, limits, report, orders is not None, edges)

    @cached_property
    def parameters(self) -> int:
        return parameter_count(self.network)

    def sample(
        self,
        codes: np.ndarray,
        seeded: Sequence[Sequence[Any] | None],
        settings: SampleSettings,
        on_progress: ProgressCallback,
    ) -> pd.DataFrame:
        """The language columns of rows with context `codes` (seeded values are conditioned on)."""
        factory = self._matcher if any(f.constrained for f in self.formats) else None
        order = list(range(len(self.formats)))
        if self.flexible:  # the seeded columns first, so that every free column is conditioned on them
            order.sort(key=lambda j: seeded[j] is None)
        with few_threads():
            texts = sample_columns(
                self.network,
                self.tokenizer,
                self.formats,
                self.limits,
                codes,
                seeded,
                settings,
                on_progress,
                factory,
                order,
                self.length_edges,
            )
        return pd.DataFrame({f.name: f.values(t) for f, t in zip(self.formats, texts, strict=True)})

    @cached_property
    def _ll_tokenizer(self) -> Any:
        import llguidance.hf
        from transformers import PreTrainedTokenizerFast

        fast = PreTrainedTokenizerFast(tokenizer_object=self.tokenizer.tokenizer, eos_token="</s>")
        return llguidance.hf.from_tokenizer(
            fast, n_vocab=self.tokenizer.vocab_size, eos_token=self.tokenizer.end
        )

    def _matcher(self, regex: str) -> Any:
        import llguidance

        matcher = llguidance.LLMatcher(self._ll_tokenizer, llguidance.LLMatcher.grammar_from_regex(regex))
        if matcher.is_error():
            raise ValueError(f"the grammar {regex!r} does not compile: {matcher.get_error()}")
        return matcher

    def save(self, directory: Path) -> None:
        meta = {
            "model": LSTM_MODEL,
            "formats": [f.to_json() for f in self.formats],
            "shape": self.network.shape.to_json(),
            "limits": self.limits,
            "flexible": self.flexible,
            "length_edges": self.length_edges,
        }
        (directory / META).write_text(json.dumps(meta))
        (directory / TOKENIZER).write_text(self.tokenizer.to_json())
        torch.save(self.network.state_dict(), directory / WEIGHTS)

    @classmethod
    def load(cls, directory: Path) -> LanguageModel:
        meta = json.loads((directory / META).read_text())
        network = ContextLSTM(LSTMShape.from_json(meta["shape"]))
        network.load_state_dict(torch.load(directory / WEIGHTS, weights_only=True))
        network.eval()
        tokenizer = TextTokenizer.from_json((directory / TOKENIZER).read_text())
        formats = [ColumnFormat.from_json(f) for f in meta["formats"]]
        limits, flexible, edges = list(meta["limits"]), bool(meta.get("flexible")), meta.get("length_edges")
        return cls(formats, tokenizer, network, limits, None, flexible, edges)

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / META).is_file()


def _orders(n: int, n_columns: int, settings: LanguageSettings) -> np.ndarray | None:
    """Per row a column order under enable_flexible_generation (several columns), else None."""
    if not settings.flexible or n_columns < 2:
        return None
    rng = np.random.default_rng(settings.random_state)
    return np.argsort(rng.random((n, n_columns)), axis=1)


def _length_edges(
    fmt: ColumnFormat, texts: list[str | None], validation: np.ndarray, tokenizer: TextTokenizer
) -> list[int] | None:
    """A free text's length bins: quantiles of the training texts' bytes. why: the model draws a
    text's bin first (from the row's context), so lengths follow the data, not the model's drift."""
    lengths = [len(t) for t, v in zip(texts, validation, strict=True) if t is not None and not v]
    if fmt.encoding != "LANGUAGE_TEXT" or not lengths or not tokenizer.length_marks():
        return None
    bins = len(tokenizer.length_marks())
    return [int(e) for e in np.unique(np.quantile(lengths, np.linspace(0, 1, bins + 1)[1:-1]).round())]


def _token_rows(
    tokenizer: TextTokenizer,
    formats: list[ColumnFormat],
    texts: list[list[str | None]],
    codes: np.ndarray,
    orders: np.ndarray | None = None,
    edges: list[list[int] | None] | None = None,
) -> tuple[TokenRows, list[int]]:
    """Each row as `<c0> value </s> <c1> value </s> ...` (columns in the row's order of `orders`,
    if given: the marks say which column follows); the per-column sampling limits."""
    n = len(codes)
    pieces: list[list[list[int]]] = [[] for _ in range(n)]  # per row, per column
    sizes, marks = tokenizer.byte_lengths(), tokenizer.length_marks()
    limits = []
    for j, (fmt, column) in enumerate(zip(formats, texts, strict=True)):
        encoded = tokenizer.encode([t or "" for t in column])
        longest = 1
        for i, (text, ids) in enumerate(zip(column, encoded, strict=True)):
            body = [tokenizer.null] if text is None else ids[:MAX_TOKENS]
            longest = max(longest, len(body))
            if text is not None and edges is not None and edges[j] is not None:
                body = [marks[length_bin(edges[j], len(text))], *body]
            pieces[i].append([tokenizer.mark(j), *body, tokenizer.end])
        limits.append(_limit(fmt, longest))
    rows: list[list[int]] = [[] for _ in range(n)]
    learned: list[list[bool]] = [[] for _ in range(n)]
    written: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(len(formats)) if orders is None else orders[i]:
            piece = pieces[i][j]
            rows[i] += piece
            learned[i] += [False] + [True] * (len(piece) - 1)  # the mark is forced, the rest learned
            written[i] += np.cumsum(sizes[piece]).tolist()
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    tokens = torch.full((n, int(lengths.max(initial=2))), tokenizer.pad, dtype=torch.long)
    mask = torch.zeros((n, tokens.shape[1]), dtype=torch.bool)
    positions = torch.zeros((n, tokens.shape[1]), dtype=torch.long)
    for i, (row, flags) in enumerate(zip(rows, learned, strict=True)):
        tokens[i, : len(row)] = torch.tensor(row)
        mask[i, : len(flags)] = torch.tensor(flags)
        positions[i, : len(row)] = torch.tensor(written[i])
    return TokenRows(tokens, mask[:, 1:], lengths, torch.from_numpy(codes).long(), positions), limits


def _limit(fmt: ColumnFormat, longest: int) -> int:
    """Tokens a sampled value may take: a constrained value always completes its grammar (every
    token writes at least one byte), free text stops a little past the longest training text."""
    if fmt.encoding == "LANGUAGE_CATEGORICAL":
        return max(len(c.encode()) for c in fmt.categories) + 2
    if fmt.encoding in ("LANGUAGE_NUMERIC", "LANGUAGE_DATETIME"):
        return 40
    return min(int(longest * 1.1) + 2, MAX_TOKENS)
