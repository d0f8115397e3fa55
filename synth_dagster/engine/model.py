"""The auto-regressive tabular network (in the spirit of TabularARGN).

Every column is a few discrete sub-columns. Each sub-column has an embedding and its own head; the
head predicts its sub-column from the embeddings of everything that comes before it in the current
column order. Which sub-columns are "before" is a per-row visibility mask, so one network learns all
column orders at once (flexible generation) or only the canonical one. An optional context vector
(parent rows, sequence history) is fed to every head; sequences plug in through it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

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


class TabularARGN(nn.Module):
    def __init__(self, shape: ModelShape):
        super().__init__()
        self.shape = shape
        hidden, layers, cap = MODEL_SIZES[shape.size]
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
        self.n_embedded = self.offsets[-1]
        in_dim = self.n_embedded + n_sub + shape.context_dim
        # First layer of every head as one batched weight: all heads run in a single bmm.
        self.first_weight = nn.Parameter(torch.empty(n_sub, in_dim, hidden))
        self.first_bias = nn.Parameter(torch.zeros(n_sub, hidden))
        bound = 1 / in_dim**0.5
        nn.init.uniform_(self.first_weight, -bound, bound)
        self.dropout = nn.Dropout(DROPOUT[shape.size])
        self.heads = nn.ModuleList(self._head(hidden, layers - 1, c) for c in shape.cardinalities)

    @staticmethod
    def _head(hidden: int, extra_layers: int, out: int) -> nn.Sequential:
        mods: list[nn.Module] = []
        for _ in range(extra_layers):
            mods += [nn.Linear(hidden, hidden), nn.ReLU()]
        mods.append(nn.Linear(hidden, out))
        return nn.Sequential(*mods)

    def embed(self, codes: torch.Tensor) -> torch.Tensor:
        return torch.cat([emb(codes[:, j]) for j, emb in enumerate(self.embeddings)], dim=1)

    def head_logits(
        self, j: int, embedded: torch.Tensor, visible: torch.Tensor, context: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits of sub-column j at generation time.

        embedded must hold zeros for sub-columns not drawn yet; visible is [n_sub] (the same for all rows).
        """
        weight = self.first_weight[j]
        hidden = embedded @ weight[: self.n_embedded] + (
            visible @ weight[self.n_embedded : self.n_embedded + len(visible)] + self.first_bias[j]
        )
        if context is not None:
            hidden = hidden + context @ weight[self.n_embedded + len(visible) :]
        return self.heads[j](torch.relu(hidden))

    def forward(
        self, codes: torch.Tensor, visible: torch.Tensor, context: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Teacher-forced logits for every sub-column; visible is [B, n_sub, n_sub]."""
        embedded = self.embed(codes)  # [B, D]
        x = embedded[:, None, :] * visible[:, :, self.dim_owner]  # [B, J, D]
        parts = [x, visible]
        if context is not None:
            parts.append(context[:, None, :].expand(-1, visible.shape[1], -1))
        x = torch.cat(parts, dim=2).transpose(0, 1)  # [J, B, in]
        hidden = torch.relu(torch.baddbmm(self.first_bias[:, None, :], x, self.first_weight))
        hidden = self.dropout(hidden)
        return [head(hidden[j]) for j, head in enumerate(self.heads)]


def visibility(column_rank: torch.Tensor, column_of: torch.Tensor, sub_index: torch.Tensor) -> torch.Tensor:
    """[B, n_sub, n_sub] float mask: visible[b, j, k] = 1 when sub-column k comes before j in row b's order.

    column_rank is [B, n_columns]: the position of each column in that row's order.
    """
    rank = column_rank[:, column_of] * 1024 + sub_index  # sub-columns keep their order within a column
    return (rank[:, None, :] < rank[:, :, None]).float()
