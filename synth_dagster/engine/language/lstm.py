"""The LSTM of MOSTLY_AI/LSTMFromScratch-3m: a token LSTM whose start is the row's context.

The context is the row's codes as the tabular model encoded them (its own tabular columns and, for
a table under a context key, its parents'): each sub-column's code has an embedding, their sum is
the context vector, which sets the LSTM's initial state and is added to every input embedding (so
the condition does not fade over a long text). About 1.2M weights at a 2,000-token vocabulary,
less than the reference's 3M: on a shared 2-core CPU the 3M shape (256 / 384) trained a tenth of an
epoch of 10,000 tweets in the benchmark's budget and generated 21 texts/s; this one is 2.3x cheaper.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

State = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class LSTMShape:
    vocab_size: int
    context_cards: tuple[int, ...]
    embedding: int = 128
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.1
    positions: int = 0  # character-position embeddings (0: none, as in models saved before them)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LSTMShape:
        return cls(**{**data, "context_cards": tuple(data["context_cards"])})


class ContextLSTM(nn.Module):
    def __init__(self, shape: LSTMShape):
        super().__init__()
        self.shape = shape
        h = shape.hidden
        self.tokens = nn.Embedding(shape.vocab_size, shape.embedding)
        self.context = nn.ModuleList(nn.Embedding(max(c, 1), h) for c in shape.context_cards)
        self.to_state = nn.Linear(h, 2 * h * shape.layers)
        self.to_input = nn.Linear(h, shape.embedding)
        # why: the bytes written so far, as an input, let the model learn when a text ends (a
        # tweet's 140-character limit); counting them in the LSTM state was learned badly in budget
        self.position = nn.Embedding(shape.positions, shape.embedding) if shape.positions else None
        self.lstm = nn.LSTM(
            shape.embedding,
            h,
            shape.layers,
            batch_first=True,
            dropout=shape.dropout if shape.layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(shape.dropout)
        self.head = nn.Linear(h, shape.vocab_size)

    def start(self, codes: torch.Tensor) -> tuple[State, torch.Tensor]:
        """The initial (h, c) of each row and the bias added to its input embeddings."""
        batch, h = codes.shape[0], self.shape.hidden
        vector = torch.zeros(batch, h, device=codes.device)
        for j, embedding in enumerate(self.context):
            vector = vector + embedding(codes[:, j])
        vector = torch.tanh(vector)
        state = self.to_state(vector).view(batch, 2, self.shape.layers, h).permute(1, 2, 0, 3)
        return (torch.tanh(state[0]).contiguous(), state[1].contiguous()), self.to_input(vector)

    def forward(
        self,
        tokens: torch.Tensor,
        state: State,
        bias: torch.Tensor,
        positions: torch.Tensor | None = None,
        select: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, State]:
        """Logits [B, T, vocab] for the next token after each of `tokens` [B, T]; `positions` [B, T]:
        the bytes of the column's value written up to and including each token; `select` [B, T]
        bool: only those positions' logits, flattened (training skips the padding's head)."""
        x = self.tokens(tokens) + bias[:, None, :]
        if self.position is not None and positions is not None:
            x = x + self.position(positions.clamp(max=self.shape.positions - 1))
        out, state = self.lstm(self.drop(x), state)
        if select is not None:
            out = out[select]
        return self.head(self.drop(out)), state


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@contextmanager
def few_threads() -> Iterator[None]:
    """One intra-op thread on small machines: the LSTM's small matrix products gain nothing from
    two threads, and on a shared 2-core machine the threads' spinning made a step 50x slower
    (2.5 s against 40 ms, measured)."""
    before = torch.get_num_threads()
    if (os.cpu_count() or 1) <= 4:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
