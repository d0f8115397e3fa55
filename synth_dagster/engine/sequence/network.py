"""The sequence model's network: the context of every row (parent row, history, position, previous
row) that the table's TabularARGN reads when it draws the rows of one sequence."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from synth_dagster.engine.analysis import ColumnPlan
from synth_dagster.engine.model import TabularARGN, embedding_width

# name: (parent width, history width, context width)
WIDTHS = {"small": (32, 64, 32), "medium": (64, 128, 64), "large": (96, 192, 96)}
# Positions (and remaining rows) beyond this share one embedding.
POSITIONS = 32
POSITION_WIDTH = 16
# Dropout on the context's embeddings, at every model size: without it a small table's context
# net can settle on memorising sequences before it finds the parent columns that matter.
CONTEXT_DROPOUT = {"small": 0.2, "medium": 0.2, "large": 0.25}
# Weight decay of sequence models: stronger than a flat table's, since a sequence's rows make each
# other easy to predict and the model otherwise learns single training sequences by heart.

# Dropout on the previous row's embeddings as the heads read them. They make the next row easy to
# predict from the last one alone, and without it the model learns single training transitions by
# heart within a few epochs: on plyr/baseball the validation loss was best at epoch 3 and the result
# varied widely with the seed; with it, at epoch 9 to 12, lower, and accuracy held steady.
LAG_DROPOUT = 0.5
REPEAT_ENCODINGS = frozenset({"TABULAR_CATEGORICAL"})


class SequenceContext(nn.Module):
    """The context vector of every row of a sequence: parent row, history, position, previous row.

    Its last part is the previous row's embeddings as they are (zeros for a first row): every
    head then reads the previous values of its own and the other columns through one linear map,
    which carries transitions between successive rows (the same team, the next year) that a
    compressed history alone learns slowly on wide tables.
    """

    def __init__(
        self,
        parent_cards: tuple[int, ...],
        row_cards: tuple[int, ...],
        size: str,
        ordinal: Mapping[int, np.ndarray] | None = None,
        repeat: tuple[int, ...] = (),
    ):
        super().__init__()
        # the previous row's codes of these sub-columns end the context (`ModelShape.repeat`)
        self.repeat = tuple(repeat)
        parent_width, history, context = WIDTHS[size]
        # Numbers' codes are ordered: a row's numbers are also read as positions in [0, 1] (see
        # `ordinal_codes`), so that "about as many games as last season" is one weight per column
        # instead of a relation between dozens of separately learned embeddings.
        ordinal = dict(ordinal or {})
        self.ordinal_columns = sorted(ordinal)
        for j in self.ordinal_columns:
            self.register_buffer(f"ordinal_{j}", torch.as_tensor(ordinal[j], dtype=torch.float32))
        self.parent_embeddings = nn.ModuleList(nn.Embedding(c, embedding_width(c, 12)) for c in parent_cards)
        embedded_parent = sum(e.embedding_dim for e in self.parent_embeddings)
        self.parent_proj = nn.Linear(max(embedded_parent, 1), parent_width)
        self.row_embeddings = nn.ModuleList(nn.Embedding(c, embedding_width(c, 12)) for c in row_cards)
        self.row_width = sum(e.embedding_dim for e in self.row_embeddings) + len(self.ordinal_columns)
        self.row_proj = nn.Linear(self.row_width, history)
        self.start = nn.Parameter(torch.zeros(history))
        self.gru = nn.GRU(history, history, batch_first=True)
        self.init_state = nn.Linear(parent_width, history)
        self.position = nn.Embedding(POSITIONS, POSITION_WIDTH)
        self.remaining = nn.Embedding(POSITIONS, POSITION_WIDTH)
        self.out = nn.Linear(parent_width + history + 2 * POSITION_WIDTH, context)
        self.dropout = nn.Dropout(CONTEXT_DROPOUT[size])
        self.context_dim = context + self.row_width  # the dense part; the repeat codes follow

    def parent_vector(self, parent_codes: torch.Tensor) -> torch.Tensor:
        if not len(self.parent_embeddings):
            return torch.relu(self.parent_proj(torch.zeros(len(parent_codes), 1)))
        embedded = torch.cat([e(parent_codes[:, k]) for k, e in enumerate(self.parent_embeddings)], 1)
        return torch.relu(self.parent_proj(self.dropout(embedded)))

    def initial_state(self, parent: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.init_state(parent))

    def row_embedding(self, codes: torch.Tensor) -> torch.Tensor:
        embedded = torch.cat([e(codes[..., j]) for j, e in enumerate(self.row_embeddings)], -1)
        if not self.ordinal_columns:
            return self.dropout(embedded)
        scalars = [getattr(self, f"ordinal_{j}")[codes[..., j]] for j in self.ordinal_columns]
        return torch.cat([self.dropout(embedded), torch.stack(scalars, -1)], -1)

    def combine(
        self,
        parent: torch.Tensor,
        history: torch.Tensor,
        previous: torch.Tensor,
        position: torch.Tensor,
        remaining: torch.Tensor,
    ) -> torch.Tensor:
        parts = [
            parent,
            history,
            self.position(position.clamp(0, POSITIONS - 1)),
            self.remaining(remaining.clamp(0, POSITIONS - 1)),
        ]
        previous = nn.functional.dropout(previous, LAG_DROPOUT, self.training)
        return torch.cat([torch.relu(self.out(torch.cat(parts, -1))), previous], -1)

    def forward(
        self,
        parent_codes: torch.Tensor,
        row_codes: torch.Tensor,
        position: torch.Tensor,
        remaining: torch.Tensor,
    ) -> torch.Tensor:
        """Context [N, T, context_dim] for row_codes [N, T, J]; row t sees rows before t only."""
        n, steps = row_codes.shape[:2]
        parent = self.parent_vector(parent_codes)
        embedded = self.row_embedding(row_codes)
        previous = torch.cat([embedded.new_zeros(n, 1, self.row_width), embedded[:, :-1]], 1)
        inputs = torch.relu(self.row_proj(embedded))
        inputs = torch.cat([self.start.expand(n, 1, -1), inputs[:, :-1]], 1)
        history, _ = self.gru(inputs, self.initial_state(parent)[None])
        dense = self.combine(parent[:, None].expand(-1, steps, -1), history, previous, position, remaining)
        if not self.repeat:
            return dense
        shifted = torch.cat([row_codes.new_full((n, 1, row_codes.shape[2]), -1), row_codes[:, :-1]], 1)
        return self._with_repeat_codes(dense, shifted)

    def step(
        self,
        parent: torch.Tensor,
        state: torch.Tensor,
        previous_codes: torch.Tensor | None,
        position: torch.Tensor,
        remaining: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One generation step: (context [N, context_dim], new state) from the previous row's codes."""
        if previous_codes is None:
            previous = parent.new_zeros(len(parent), self.row_width)
            inputs = self.start.expand(len(parent), -1)
        else:
            previous = self.row_embedding(previous_codes)
            inputs = torch.relu(self.row_proj(previous))
        _, hidden = self.gru(inputs[:, None], state[None])
        state = hidden[0]
        dense = self.combine(parent, state, previous, position, remaining)
        return self._with_repeat_codes(dense, previous_codes), state

    def _with_repeat_codes(self, dense: torch.Tensor, previous_codes: torch.Tensor | None) -> torch.Tensor:
        """The context: `dense`, then the previous row's repeat codes as floats (-1: first row)."""
        if not self.repeat:
            return dense
        if previous_codes is None:
            last = dense.new_full((*dense.shape[:-1], len(self.repeat)), -1.0)
        else:
            last = previous_codes[..., list(self.repeat)].to(dense.dtype)
        return torch.cat([dense, last], -1)


def ordinal_codes(plans: list[ColumnPlan]) -> dict[int, np.ndarray]:
    """Numbers' ordered codes as positions in [0, 1], by sub-column: a binned number's coarse
    (quantile) bin, a discrete number's value rank. Empty and rare codes are 0."""
    out: dict[int, np.ndarray] = {}
    j = 0
    for plan in plans:
        subs = plan.sub_columns()
        kind = plan.stats.get("kind") if plan.encoding_type.startswith("TABULAR_NUMERIC") else None
        first = {"BINNED": 1, "DISCRETE": 2}.get(kind or "")
        if first is not None:
            n = subs[0].cardinality - first
            values = np.zeros(subs[0].cardinality)
            values[first:] = np.linspace(0.0, 1.0, n) if n > 1 else 0.5
            out[j] = values
        j += len(subs)
    return out


def repeat_sub_columns(plans: list[ColumnPlan]) -> tuple[int, ...]:
    """Categorical columns' sub-columns: each row may repeat the value of the row before."""
    out: list[int] = []
    j = 0
    for plan in plans:
        if plan.encoding_type in REPEAT_ENCODINGS:
            out.append(j)
        j += len(plan.sub_columns())
    return tuple(out)


class SequenceNetwork(nn.Module):
    def __init__(self, argn: TabularARGN, context: SequenceContext):
        super().__init__()
        self.argn = argn
        self.context = context
