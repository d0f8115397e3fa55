"""Non-context foreign keys: a model that learns which parent row fits a child row.

Two towers embed child rows and parent rows (their codes in each table's own model); the score
of a pair is the dot product plus a parent term. Training is a softmax over all parent rows (or a
random subset of them for large parent tables), with the true parent as the target, so the
scores learn both how popular a parent is and how well it fits the child. At generation time
every child row draws its parent from the softmax over the *generated* parent rows.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from synth_dagster.engine.model import embedding_width
from synth_dagster.engine.privacy.accounting import PrivacyLedger
from synth_dagster.engine.privacy.dpsgd import UnitProblem, run_private_training
from synth_dagster.engine.privacy.settings import DPSettings
from synth_dagster.engine.progress import ProgressCallback, StopCheck, never_stop, no_progress
from synth_dagster.engine.training import (
    TrainingReport,
    TrainingSettings,
    auto_batch_size,
    resolve_seed,
    run_training,
)

EMBEDDING = 32
HIDDEN = 64
# Parent tables up to this size get a full softmax per batch; larger ones a random subset.
FULL_SOFTMAX_PARENTS = 8192
MAX_MATCHING_ROWS = 30_000
MIN_MATCHER_STEPS = 300
SCORE_CHUNK = 4096
MATCHER_FILE = "matcher.pt"
MATCHER_META = "matcher.json"


MATCH_CHUNK = 256  # distinct wanted rows compared with the candidates at once
MATCH_TOLERANCE = 0.5  # candidates this close to the best one share its children by popularity
MAX_CANDIDATES = 4096  # a nearest search in a larger parent table looks at a random subset


def _as_float(values: pd.Series, datetime: bool) -> np.ndarray:
    """float values (NaN: missing); datetimes as nanoseconds."""
    if datetime:
        stamps = pd.to_datetime(values, errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
        ns = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        ns[stamps.isna().to_numpy()] = np.nan
        return ns
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


class RowComparer:
    """Rows as float vectors on which `closest_rows` measures distance, fitted on the candidates:
    a numeric or datetime column as its position among the candidates' values (0..1), any other
    column as a category number (>= 2, so that categories never look numeric); NaN when missing."""

    def __init__(self, candidates: pd.DataFrame):
        self.columns = [str(c) for c in candidates.columns]
        self.datetimes = {
            c for c in self.columns if pd.api.types.is_datetime64_any_dtype(candidates[c].dtype)
        }
        self.known: dict[str, np.ndarray] = {}
        self.vocabulary: dict[str, dict[object, int]] = {}
        for c in self.columns:
            dtype = candidates[c].dtype
            if c in self.datetimes or (
                pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            ):
                values = _as_float(candidates[c], c in self.datetimes)
                self.known[c] = np.sort(values[~np.isnan(values)])
            else:
                self.vocabulary[c] = {}

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)))
        for j, c in enumerate(self.columns):
            if c in self.known:
                values = _as_float(frame[c], c in self.datetimes)
                position = np.searchsorted(self.known[c], values) / max(len(self.known[c]), 1)
                out[:, j] = np.where(np.isnan(values), np.nan, position)
                continue
            vocabulary = self.vocabulary[c]
            column = frame[c].astype(object)
            missing = column.isna().to_numpy()
            for value in pd.unique(column[~missing]):
                vocabulary.setdefault(value, len(vocabulary))
            codes = column.map(vocabulary).to_numpy(dtype=float, na_value=np.nan)
            out[:, j] = np.where(missing, np.nan, codes + 2.0)
        return out


def distances(block: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Per (wanted, candidate) pair: numeric columns add |difference| (0..1), other columns 1 when
    they differ; a missing value is 0 from another missing value and 1 from anything else.
    Summed column by column in float32: no [wanted, candidates, columns] temporaries."""
    total = np.zeros((len(block), len(candidates)), dtype=np.float32)
    for j in range(block.shape[1]):
        a = block[:, j, None].astype(np.float32)
        b = candidates[None, :, j].astype(np.float32)
        diff = np.abs(a - b)
        if np.nanmax(np.r_[block[:, j], candidates[:, j], 0.0]) >= 2.0:
            diff = (diff > 0).astype(np.float32)  # category numbers (>= 2): equal or not
        else:
            np.minimum(diff, 1.0, out=diff)
        missing = np.isnan(diff)
        if missing.any():
            diff[missing] = (np.isnan(a) != np.isnan(b))[missing]
        total += diff
    return total


def keyed(rows: np.ndarray) -> np.ndarray:
    """Rows of `RowComparer` vectors with missing values as a number of their own (for equality)."""
    return np.nan_to_num(rows, nan=-1.0)


def equal_rows(wanted: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates equal to each wanted row, without comparing every pair: `order[lo[i]:hi[i]]`
    are the candidate rows equal to wanted row i (an empty range: none)."""
    both = np.vstack([keyed(wanted), keyed(candidates)])
    if not len(both):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    _, ids = np.unique(both, axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    wanted_ids, candidate_ids = ids[: len(wanted)], ids[len(wanted) :]
    order = np.argsort(candidate_ids, kind="stable")
    ordered = candidate_ids[order]
    return order, np.searchsorted(ordered, wanted_ids, "left"), np.searchsorted(ordered, wanted_ids, "right")


def candidate_pool(n: int, rng: np.random.Generator) -> np.ndarray:
    """The candidates a nearest search looks at: all, or a random `MAX_CANDIDATES` of a large table."""
    if n <= MAX_CANDIDATES:
        return np.arange(n)
    return np.sort(rng.choice(n, MAX_CANDIDATES, replace=False))


def draw_weighted(rows: np.ndarray, popularity: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n of `rows`, drawn in proportion to their popularity (+1: an unpopular row still counts)."""
    if len(rows) == 1:
        return np.repeat(rows, n)
    cumulative = np.cumsum(popularity[rows] + 1.0)
    picks = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    return rows[np.minimum(picks, len(rows) - 1)]


def closest_rows(
    wanted: np.ndarray,
    candidates: np.ndarray,
    popularity: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Per wanted row (see `RowComparer`), a candidate row: one equal to it if there are any, else
    one of those within `MATCH_TOLERANCE` of the nearest (among `candidate_pool`), drawn in
    proportion to `popularity`. Equal wanted rows are matched together, so the cost grows with the
    distinct wanted rows, not with all of them."""
    _, first, inverse = np.unique(keyed(wanted), axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    unique = wanted[first]
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(unique)))])
    out = np.empty(len(wanted), dtype=np.int64)
    equal_order, lo, hi = equal_rows(unique, candidates)
    for u in np.flatnonzero(hi > lo):
        rows = order[starts[u] : starts[u + 1]]
        out[rows] = draw_weighted(equal_order[lo[u] : hi[u]], popularity, len(rows), rng)
    rest = np.flatnonzero(hi == lo)
    for chunk in range(0, len(rest), MATCH_CHUNK):
        block = rest[chunk : chunk + MATCH_CHUNK]
        pool = candidate_pool(len(candidates), rng)
        distance = distances(unique[block], candidates[pool])
        near = distance <= distance.min(axis=1, keepdims=True) + MATCH_TOLERANCE
        for k, u in enumerate(block):
            rows = order[starts[u] : starts[u + 1]]
            out[rows] = draw_weighted(pool[near[k]], popularity, len(rows), rng)
    return out


class _Tower(nn.Module):
    def __init__(self, cards: tuple[int, ...]):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(c, embedding_width(c, 12)) for c in cards)
        width = sum(e.embedding_dim for e in self.embeddings)
        self.net = nn.Sequential(nn.Linear(max(width, 1), HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, EMBEDDING))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        if not len(self.embeddings):
            return self.net(torch.zeros(len(codes), 1))
        return self.net(torch.cat([e(codes[:, k]) for k, e in enumerate(self.embeddings)], 1))


class KeyMatcher(nn.Module):
    def __init__(self, child_cards: tuple[int, ...], parent_cards: tuple[int, ...]):
        super().__init__()
        self.child_cards = child_cards
        self.parent_cards = parent_cards
        self.child = _Tower(child_cards)
        self.parent = _Tower(parent_cards)
        self.parent_bias = nn.Linear(EMBEDDING, 1)
        self.privacy: dict | None = None  # the PrivacyLedger (JSON) of a DP-SGD training

    def scores(
        self, child_codes: torch.Tensor, parent_vectors: torch.Tensor, parent_bias: torch.Tensor
    ) -> torch.Tensor:
        return self.child(child_codes) @ parent_vectors.T + parent_bias

    def parent_side(self, parent_codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        vectors = self.parent(parent_codes)
        return vectors, self.parent_bias(vectors).squeeze(1)

    # ------------------------------------------------------------------ training
    @classmethod
    def fit(
        cls,
        child_codes: np.ndarray,
        child_cards: tuple[int, ...],
        parent_of_child: np.ndarray,
        parent_codes: np.ndarray,
        parent_cards: tuple[int, ...],
        random_state: int | None = None,
        max_training_time: float | None = None,
        parents_kept: bool = False,
        on_progress: ProgressCallback = no_progress,
        should_stop: StopCheck = never_stop,
        privacy: DPSettings | None = None,
    ) -> tuple[KeyMatcher, TrainingReport]:
        """child_codes [n, ...] of rows whose key is set; parent_of_child: index into parent_codes.
        With `privacy`, DP-SGD over the child rows (`_fit_private`)."""
        started = time.monotonic()
        seed = resolve_seed(random_state)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        if len(child_codes) > MAX_MATCHING_ROWS:
            keep = np.sort(rng.choice(len(child_codes), MAX_MATCHING_ROWS, replace=False))
            child_codes, parent_of_child = child_codes[keep], parent_of_child[keep]
        matcher = cls(child_cards, parent_cards)
        children = torch.from_numpy(np.ascontiguousarray(child_codes))
        targets = torch.from_numpy(parent_of_child.astype(np.int64))
        parents = torch.from_numpy(np.ascontiguousarray(parent_codes))
        order = rng.permutation(len(children))
        n_val = max(1, len(children) // 10) if len(children) >= 20 else 0
        val, train = order[:n_val], order[n_val:]
        # Parents kept as they are (lookup tables) are the very rows generation matches against, so
        # the matcher may learn them one by one: smaller batches, more steps. Generated parents are
        # new rows, and a matcher that learned the training parents by heart picks worse among them.
        batch = min(1024, auto_batch_size(len(train))) if parents_kept else 1024
        steps_per_epoch = max(1, -(-len(train) // batch))
        min_epochs = MIN_MATCHER_STEPS / steps_per_epoch if parents_kept else 0.0
        batches = _MatcherBatches(matcher, children, targets, parents, (train, val), batch, rng)

        settings = TrainingSettings(
            max_epochs=max(15.0, min_epochs),
            max_training_time=max_training_time,
            random_state=seed,
            learning_rate=3e-3,
        )
        if privacy is not None:
            report = _fit_private(batches, settings, privacy, seed, on_progress, should_stop)
            report.seconds = time.monotonic() - started
            matcher.privacy = report.privacy
            return matcher, report
        report = run_training(
            matcher,
            batches.epoch,
            batches.validate,
            steps_per_epoch,
            batch,
            settings,
            on_progress,
            should_stop,
        )
        report.seconds = time.monotonic() - started
        return matcher, report

    # ---------------------------------------------------------------- generation
    @torch.inference_mode()
    def assign(
        self,
        child_codes: np.ndarray,
        parent_codes: np.ndarray,
        generator: torch.Generator,
        temperature: float = 1.0,
    ) -> np.ndarray:
        """A parent (index into parent_codes) for every child row, drawn from the fitted softmax."""
        vectors, bias = self.parent_side(torch.from_numpy(np.ascontiguousarray(parent_codes)))
        out = np.empty(len(child_codes), dtype=np.int64)
        children = torch.from_numpy(np.ascontiguousarray(child_codes))
        for start in range(0, len(children), SCORE_CHUNK):
            logits = self.scores(children[start : start + SCORE_CHUNK], vectors, bias)
            if temperature <= 0:
                out[start : start + len(logits)] = logits.argmax(1).numpy()
                continue
            probs = torch.softmax(logits / temperature, dim=1)
            out[start : start + len(logits)] = (
                torch.multinomial(probs, 1, generator=generator).squeeze(1).numpy()
            )
        return out

    # --------------------------------------------------------------- persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), directory / MATCHER_FILE)
        (directory / MATCHER_META).write_text(
            json.dumps(
                {
                    "child_cards": list(self.child_cards),
                    "parent_cards": list(self.parent_cards),
                    "privacy": self.privacy,
                }
            )
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> KeyMatcher:
        directory = Path(directory)
        meta = json.loads((directory / MATCHER_META).read_text())
        matcher = cls(tuple(meta["child_cards"]), tuple(meta["parent_cards"]))
        matcher.load_state_dict(torch.load(directory / MATCHER_FILE, weights_only=True))
        matcher.privacy = meta.get("privacy")
        matcher.eval()
        return matcher


class _MatcherBatches:
    """The key matcher's training batches and validation loss (a sampled softmax over parents
    when there are many)."""

    def __init__(
        self,
        matcher: KeyMatcher,
        children: torch.Tensor,
        targets: torch.Tensor,
        parents: torch.Tensor,
        split: tuple[np.ndarray, np.ndarray],
        batch: int,
        rng: np.random.Generator,
    ):
        self.matcher, self.children, self.targets, self.parents = matcher, children, targets, parents
        self.train, self.val = split
        self.batch, self.rng = batch, rng

    def loss_of(self, rows: np.ndarray) -> torch.Tensor:
        rows_t = torch.from_numpy(rows)
        target = self.targets[rows_t]
        n_parents = len(self.parents)
        if n_parents <= FULL_SOFTMAX_PARENTS:
            vectors, bias = self.matcher.parent_side(self.parents)
        else:
            # the true parents plus a uniform sample: a sampled softmax (uniform: no correction)
            sample = torch.from_numpy(self.rng.choice(n_parents, FULL_SOFTMAX_PARENTS, replace=False))
            candidates, target = torch.unique(torch.cat([target, sample]), return_inverse=True)
            target = target[: len(rows)]
            vectors, bias = self.matcher.parent_side(self.parents[candidates])
        logits = self.matcher.scores(self.children[rows_t], vectors, bias)
        return nn.functional.cross_entropy(logits, target)

    def epoch(self) -> Iterator[tuple[torch.Tensor, int]]:
        shuffled = self.train[self.rng.permutation(len(self.train))]
        for start in range(0, len(shuffled), self.batch):
            rows = shuffled[start : start + self.batch]
            yield self.loss_of(rows), len(rows)

    def validate(self) -> float:
        rows = self.val if len(self.val) else self.train[: self.batch]
        batch = self.batch
        total = sum(
            float(self.loss_of(rows[s : s + batch])) * len(rows[s : s + batch])
            for s in range(0, len(rows), batch)
        )
        return float(total / len(rows))


PRIVATE_NEGATIVES = 255  # parents drawn uniformly (independently of the rows) per DP-SGD step


def _unit_match_loss(matcher: KeyMatcher, child: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """One child row's loss: its own parent (candidates[0]) against parents drawn at random."""
    vectors, bias = matcher.parent_side(candidates)
    logits = matcher.scores(child[None], vectors, bias)
    return nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long))


def _fit_private(
    batches: _MatcherBatches,
    settings: TrainingSettings,
    dp: DPSettings,
    seed: int,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> TrainingReport:
    """DP-SGD over the child rows: each row's loss needs only its own parent and negatives drawn
    independently of the data, so one row's gradient is all that it changes (the sampled softmax
    of `loss_of` shares the batch's parents between rows, which per-row clipping cannot bound)."""
    train = batches.train
    generator = torch.Generator().manual_seed(seed + 3)

    def inputs(units: np.ndarray) -> tuple[torch.Tensor, ...]:
        rows = torch.from_numpy(train[units])
        n_parents = len(batches.parents)
        negatives = torch.randint(n_parents, (min(PRIVATE_NEGATIVES, n_parents),), generator=generator)
        index = torch.cat([batches.targets[rows][:, None], negatives.expand(len(rows), -1)], 1)
        return batches.children[rows], batches.parents[index]

    ledger = PrivacyLedger(dp.delta, dp.training_delta, 0.0)
    problem = UnitProblem(batches.matcher, len(train), inputs, _unit_match_loss, batches.validate)
    batch = max(1, min(batches.batch, len(train) // 4 or 1))
    report = run_private_training(problem, batch, settings, dp, ledger, seed, on_progress, should_stop)
    report.privacy = ledger.to_json()
    return report
