"""The auto-regressive tabular network (in the spirit of TabularARGN).

Every column is a few discrete sub-columns. Each sub-column has an embedding and its own head; the
head predicts its sub-column from the embeddings of everything that comes before it in the current
column order. "Before" is a visibility mask over sub-columns, so one network learns all column
orders at once (flexible generation) or only the canonical one. An optional context vector
(parent rows, sequence history) is fed to every head; sequences plug in through it.

The first layer of every head is linear in the embeddings, which gives two fast paths:
- training masks the *weights* per column order (as MADE does) instead of the inputs, so a group of
  rows that share an order is one dense matrix product;
- generation folds each embedding table into the first layer once (`StepTables`), so a head's
  hidden layer is a sum of table lookups over the codes drawn so far.

Sequences may name `repeat` sub-columns: their previous row's code gets an extra logit, a gate
computed from the head's hidden layer. "The same team as last season" is then one learned scalar
instead of an identity map that a 12-wide embedding, dropped out, would have to carry through the
hidden layer (on plyr/baseball the model gave the previous team 0.58 where the data has 0.74).
The previous codes ride at the end of the context vector (see `ModelShape.repeat`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

MODEL_SIZES: dict[str, tuple[int, int, int]] = {
    # name: (hidden width, hidden layers per head, max embedding width)
    "small": (64, 1, 12),
    "medium": (128, 1, 12),
    "large": (256, 2, 24),
}
DROPOUT = {"small": 0.0, "medium": 0.1, "large": 0.2}


def embedding_width(cardinality: int, cap: int) -> int:
    return int(min(cap, max(3, round(1.6 * cardinality**0.56))))


@dataclass(frozen=True)
class ModelShape:
    cardinalities: tuple[int, ...]
    column_of: tuple[int, ...]  # sub-column -> column index
    size: str = "medium"
    context_dim: int = 0
    # Sub-columns whose previous-row code gets a gated extra logit. The context vector then ends
    # with one more entry per repeat sub-column: that code as a float, -1 for a first row.
    repeat: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, shape: dict[str, Any]) -> ModelShape:
        """The shape as `asdict` stored it (JSON lists back to tuples; `repeat` absent in old files)."""
        return cls(
            tuple(shape["cardinalities"]),
            tuple(shape["column_of"]),
            shape["size"],
            shape["context_dim"],
            tuple(shape.get("repeat", ())),
        )


@dataclass
class StepTables:
    """Head j's first layer for one fixed order: hidden = bias + sum of table rows picked by codes."""

    before: list[int]  # sub-columns drawn before j
    table: torch.Tensor  # [sum of their cardinalities, hidden], their rows in draw order
    constant: torch.Tensor  # [hidden]: bias + the visibility term


class TabularARGN(nn.Module):
    def __init__(self, shape: ModelShape):
        super().__init__()
        self.shape = shape
        hidden, layers, cap = MODEL_SIZES[shape.size]
        self.hidden = hidden
        widths = [embedding_width(c, cap) for c in shape.cardinalities]
        self.embeddings = nn.ModuleList(
            nn.Embedding(c, w) for c, w in zip(shape.cardinalities, widths, strict=True)
        )
        owner = torch.cat([torch.full((w,), j, dtype=torch.long) for j, w in enumerate(widths)])
        self.register_buffer("dim_owner", owner, persistent=False)
        self.offsets = [0]
        for w in widths:
            self.offsets.append(self.offsets[-1] + w)
        n_sub = len(shape.cardinalities)
        self.n_sub = n_sub
        self.n_embedded = self.offsets[-1]
        bound = 1 / (self.n_embedded + n_sub + shape.context_dim) ** 0.5
        # First layer of every head: from the embeddings, from the visibility indicators (which
        # sub-columns the head conditions on), and from the context.
        self.input_weight = nn.Parameter(torch.empty(n_sub, self.n_embedded, hidden).uniform_(-bound, bound))
        self.visible_weight = nn.Parameter(torch.empty(n_sub, n_sub, hidden).uniform_(-bound, bound))
        self.context_weight = nn.Parameter(
            torch.empty(shape.context_dim, n_sub, hidden).uniform_(-bound, bound)
        )
        self.first_bias = nn.Parameter(torch.zeros(n_sub, hidden))
        self.dropout = nn.Dropout(DROPOUT[shape.size])
        self.heads = nn.ModuleList(self._head(hidden, layers - 1, c) for c in shape.cardinalities)
        self.repeat_index = {j: r for r, j in enumerate(shape.repeat)}
        if shape.repeat:  # only then: flat models keep the parameters (and files) they had
            # zero at start: a gate that starts open (bias 1) left two training seeds of four
            # with careers that never rose to their peak on plyr/baseball
            self.repeat_weight = nn.Parameter(torch.zeros(len(shape.repeat), hidden))
            self.repeat_bias = nn.Parameter(torch.zeros(len(shape.repeat)))

    @staticmethod
    def _head(hidden: int, extra_layers: int, out: int) -> nn.Sequential:
        mods: list[nn.Module] = []
        for _ in range(extra_layers):
            mods += [nn.Linear(hidden, hidden), nn.ReLU()]
        mods.append(nn.Linear(hidden, out))
        return nn.Sequential(*mods)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([emb(codes[:, j]) for j, emb in enumerate(self.embeddings)], dim=1)

    def context_term(self, context: torch.Tensor | None) -> torch.Tensor | None:
        if context is None or self.shape.context_dim == 0:
            return None
        dense = context[:, : self.shape.context_dim]
        return (dense @ self.context_weight.reshape(self.shape.context_dim, -1)).view(
            len(context), self.n_sub, self.hidden
        )

    def repeat_codes(self, context: torch.Tensor | None) -> torch.Tensor | None:
        """[B, len(repeat)] previous-row codes of the repeat sub-columns (-1: none), or None."""
        if context is None or not self.shape.repeat:
            return None
        return context[:, self.shape.context_dim :].long()

    def _with_repeat(
        self, j: int, logits: torch.Tensor, hidden: torch.Tensor, previous: torch.Tensor | None
    ) -> torch.Tensor:
        """Head j's logits plus its gate at the previous row's code (rows that have one)."""
        r = self.repeat_index.get(j)
        if r is None or previous is None:
            return logits
        code = previous[:, r]
        gate = (hidden @ self.repeat_weight[r] + self.repeat_bias[r]) * (code >= 0)
        return logits.scatter_add(1, code.clamp(min=0)[:, None], gate[:, None])

    def forward(
        self,
        codes: torch.Tensor,
        masks: torch.Tensor,
        group_sizes: Sequence[int],
        context: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """Teacher-forced logits for every sub-column.

        Rows come in consecutive groups (`group_sizes`) that share a column order; masks[g] is that
        order's [n_sub, n_sub] visibility (masks[g, j, k] = 1 when sub-column k comes before j).
        """
        # Dropout on the embeddings, not on the [B, J, H] hidden layer: the same regularisation
        # at a J-th of the random draws, which dominate a CPU training step otherwise.
        embedded = self.dropout(self.embed(codes))  # [B, D]
        blocks = []
        start = 0
        for mask, size in zip(masks, group_sizes, strict=True):
            weight = self.input_weight * mask[:, self.dim_owner, None]  # [J, D, H]
            flat = weight.permute(1, 0, 2).reshape(self.n_embedded, -1)  # [D, J*H]
            block = (embedded[start : start + size] @ flat).view(size, self.n_sub, self.hidden)
            constant = torch.einsum("jk,jkh->jh", mask, self.visible_weight) + self.first_bias
            blocks.append(block + constant)
            start += size
        hidden = torch.cat(blocks) if len(blocks) > 1 else blocks[0]
        context_term = self.context_term(context)
        if context_term is not None:
            hidden = hidden + context_term
        hidden = torch.relu(hidden)
        previous = self.repeat_codes(context)
        # unbind, not hidden[:, j]: the backward of J separate selects would zero-fill J full copies
        return [
            self._with_repeat(j, head(h), h, previous)
            for j, (h, head) in enumerate(zip(hidden.unbind(1), self.heads, strict=True))
        ]

    @torch.no_grad()
    def step_tables(self, sequence: Sequence[int]) -> dict[int, StepTables]:
        """Per sub-column j, its first layer folded into lookup tables for the order `sequence`."""
        # folded[k]: [n_sub, card_k, hidden], sub-column k's embedding table through every head's
        # first layer (one product per sub-column rather than one per pair)
        folded = [
            torch.einsum(
                "cw,jwh->jch", emb.weight, self.input_weight[:, self.offsets[k] : self.offsets[k + 1]]
            )
            for k, emb in enumerate(self.embeddings)
        ]
        tables: dict[int, StepTables] = {}
        for position, j in enumerate(sequence):
            before = list(sequence[:position])
            constant = self.first_bias[j] + self.visible_weight[j, before].sum(0)
            table = torch.cat([folded[k][j] for k in before]) if before else torch.zeros(0, self.hidden)
            tables[j] = StepTables(before, table, constant)
        return tables

    @torch.no_grad()
    def step_logits(
        self,
        j: int,
        tables: StepTables,
        prefix_codes: torch.Tensor,
        context_term: torch.Tensor | None = None,
        output_bias: torch.Tensor | None = None,
        previous: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits of sub-column j at generation time.

        prefix_codes [B, len(tables.before)]: the codes drawn before j, in draw order, each with its
        offset into `tables.table` already added. output_bias replaces the head's last bias (-inf
        there forbids a code at no extra cost). previous: `repeat_codes` of the context.
        """
        if tables.before:
            hidden = functional.embedding_bag(prefix_codes, tables.table, mode="sum")
            hidden.add_(tables.constant)
        else:
            hidden = tables.constant.expand(len(prefix_codes), -1).clone()
        if context_term is not None:
            hidden.add_(context_term[:, j])
        first = hidden = hidden.relu_()
        *layers, last = self.heads[j]
        for layer in layers:
            hidden = layer(hidden)
        bias = last.bias if output_bias is None else output_bias
        return self._with_repeat(j, torch.addmm(bias, hidden, last.weight.t()), first, previous)


def visibility(column_rank: torch.Tensor, column_of: torch.Tensor, sub_index: torch.Tensor) -> torch.Tensor:
    """[G, n_sub, n_sub] float mask: visible[g, j, k] = 1 when sub-column k comes before j in order g.

    column_rank is [G, n_columns]: the position of each column in that order.
    """
    rank = column_rank[:, column_of] * 1024 + sub_index  # sub-columns keep their order within a column
    return (rank[:, None, :] < rank[:, :, None]).float()
