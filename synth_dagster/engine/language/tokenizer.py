"""A subword tokenizer trained on a table's own language columns, with value protection.

Unigram over byte-level pieces (the `tokenizers` library): the 256 byte pieces are always in the
vocabulary, so any text can be written, and the tokenizer is a plain JSON file (never a pickle).
llguidance reads it as a Hugging Face fast tokenizer for constrained decoding.

Value protection: a multi-byte piece that occurs in fewer than `min_records` distinct records is
removed from the vocabulary after training, so a string of one or a few records (a name, an
e-mail address, an id) cannot be written as one learned token; the model can only spell it from
common pieces, which it has far less reason to memorize.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # why lazy: `tokenizers` is the `language` extra; the tabular engine runs without it
    from tokenizers import Tokenizer

PAD, END, NULL = "<pad>", "</s>", "<na>"
COLUMN_MARK = "<c{}>"  # the first token of the i-th language column of a row
LENGTH_MARK = "<l{}>"  # a free text's length bin, the token after its column mark
LENGTH_BINS = 16


def special_tokens(n_columns: int) -> list[str]:
    lengths = (LENGTH_MARK.format(i) for i in range(LENGTH_BINS))
    return [PAD, END, NULL, *(COLUMN_MARK.format(i) for i in range(n_columns)), *lengths]


@dataclass(frozen=True)
class TextTokenizer:
    """The trained tokenizer and the ids of its special tokens."""

    tokenizer: Tokenizer

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    def id(self, token: str) -> int:
        found = self.tokenizer.token_to_id(token)
        if found is None:
            raise KeyError(f"the tokenizer has no token {token!r}")
        return int(found)

    @property
    def pad(self) -> int:
        return self.id(PAD)

    @property
    def end(self) -> int:
        return self.id(END)

    @property
    def null(self) -> int:
        return self.id(NULL)

    def mark(self, column: int) -> int:
        return self.id(COLUMN_MARK.format(column))

    def byte_lengths(self) -> np.ndarray:
        """Characters each token starts (special tokens: 0): the bytes of its byte-level piece that
        are not UTF-8 continuation bytes. why characters: the length a reader (and Twitter) counts."""
        vocab = self.tokenizer.get_vocab(with_added_tokens=True)
        lengths = np.zeros(self.vocab_size, dtype=np.int64)
        to_byte = _symbol_bytes()
        for piece, index in vocab.items():
            if index < len(lengths) and not _is_special(piece):
                lengths[index] = sum(1 for ch in piece if not 0x80 <= to_byte.get(ch, 0) <= 0xBF)
        return lengths

    def length_marks(self) -> list[int]:
        """The ids of the length-bin tokens (none in a tokenizer saved before them)."""
        vocab = self.tokenizer.get_vocab(with_added_tokens=True)
        found = [vocab.get(LENGTH_MARK.format(i)) for i in range(LENGTH_BINS)]
        return [int(i) for i in found if i is not None]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[Sequence[int]]) -> list[str]:
        return list(self.tokenizer.decode_batch([list(i) for i in ids], skip_special_tokens=True))

    def to_json(self) -> str:
        return self.tokenizer.to_str()

    @classmethod
    def from_json(cls, text: str) -> TextTokenizer:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(text))


def _symbol_bytes() -> dict[str, int]:
    """The byte each symbol of the byte-level alphabet stands for (GPT-2's bytes_to_unicode)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    symbols, extra = {b: b for b in printable}, 0
    for b in range(256):
        if b not in symbols:
            symbols[b], extra = 256 + extra, extra + 1
    return {chr(code): b for b, code in symbols.items()}


def _is_special(piece: str) -> bool:
    return piece in (PAD, END, NULL) or re.fullmatch(r"<[cl]\d+>", piece) is not None


def _unigram(vocab: list[tuple[str, float]]) -> Tokenizer:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def train_tokenizer(
    texts: Sequence[str], n_columns: int, *, vocab_size: int = 3000, min_records: int = 1
) -> TextTokenizer:
    """A Unigram tokenizer of at most `vocab_size` pieces over `texts` (one per record and column);
    pieces seen in fewer than `min_records` distinct records are dropped (see the module doc)."""
    from tokenizers import pre_tokenizers, trainers

    specials = special_tokens(n_columns)
    tokenizer = _unigram([(PAD, 0.0)])
    trainer = trainers.UnigramTrainer(
        vocab_size=max(vocab_size, 300 + len(specials)),
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        unk_token=PAD,
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts) or [""], trainer)
    return TextTokenizer(_canonical(tokenizer, texts, specials, min_records))


def _canonical(
    tokenizer: Tokenizer, texts: Sequence[str], specials: list[str], min_records: int
) -> Tokenizer:
    """The trained pieces, rescored by one deterministic pass and without the pieces of fewer than
    `min_records` records. why: the trainer's scores (and so the token ids) vary from run to run
    (parallel sums), while the set of pieces it picks does not; random_state must reproduce."""
    from tokenizers import pre_tokenizers

    pieces = [p for p, _ in json.loads(tokenizer.to_str())["model"]["vocab"] if p not in specials]
    alphabet = set(pre_tokenizers.ByteLevel.alphabet())
    pieces = sorted(set(pieces) | alphabet)
    uniform = _with_specials(_unigram([(p, -1.0) for p in pieces]), specials)
    records = np.zeros(uniform.get_vocab_size(), dtype=np.int64)
    uses = np.zeros(uniform.get_vocab_size(), dtype=np.int64)
    for encoding in uniform.encode_batch(list(texts), add_special_tokens=False):
        ids = np.asarray(encoding.ids, dtype=np.int64)
        records[np.unique(ids)] += 1
        np.add.at(uses, ids, 1)
    vocab = uniform.get_vocab()
    total = float(uses.sum() + len(pieces))
    kept = [
        (p, float(np.log((uses[vocab[p]] + 1) / total)))
        for p in pieces
        if p in alphabet or records[vocab[p]] >= min_records
    ]
    kept.sort(key=lambda item: (-item[1], item[0]))
    return _with_specials(_unigram([(t, 0.0) for t in specials] + kept), specials)


def _with_specials(tokenizer: Tokenizer, specials: list[str]) -> Tokenizer:
    tokenizer.add_special_tokens(specials)  # matched whole, never split by the pre-tokenizer
    return tokenizer
