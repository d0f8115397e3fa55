"""A Hugging Face causal LM (AutoModelForCausalLM) from a local folder, fine-tuned with LoRA (peft)
on "context -> text": the prompt is the row's tabular values as `name: value` lines, the target
the LANGUAGE_TEXT value and the end-of-text token (only the target's tokens are learned).

The hub cannot be reached: `model` must be a folder holding the model (its config.json) and its
tokenizer, as `save_pretrained` writes them. Saved: the LoRA adapter (safetensors) and the base
model's path; loading reads the base model from that path again. One LANGUAGE_TEXT column per
table (constrained encodings need the LSTM, whose tokenizer the grammars are compiled for).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from synth_dagster.engine.errors import EngineInputError, TrainingCanceled
from synth_dagster.engine.language.sampling import FREE, SampleSettings
from synth_dagster.engine.language.training import LanguageSettings
from synth_dagster.engine.progress import EngineProgress, ProgressCallback, StopCheck
from synth_dagster.engine.training import TrainingReport

CAUSAL_META, ADAPTER = "causal.json", "causal-adapter"
MAX_PROMPT_TOKENS, MAX_TARGET_TOKENS = 256, 256


def check_model_path(model: str, table: str) -> Path:
    """The folder of a local Hugging Face model, or an error that says what is wrong."""
    path = Path(model).expanduser()
    if not path.exists():
        raise EngineInputError(
            f"table {table!r}: language model {model!r} is neither 'MOSTLY_AI/LSTMFromScratch-3m' nor a local "
            "folder; the model hub cannot be reached here, so download the model and give its folder's path"
        )
    if not (path / "config.json").is_file():
        raise EngineInputError(
            f"table {table!r}: the folder {str(path)!r} holds no Hugging Face model (no config.json); give the "
            "folder that save_pretrained wrote (config, weights and tokenizer)"
        )
    return path


def _prompt(row: dict[str, Any]) -> str:
    return "".join(f"{k}: {'' if pd.isna(v) else v}\n" for k, v in row.items())


@dataclass
class CausalLanguageModel:
    column: str
    base: str
    context_columns: list[str]  # the tabular columns of the prompt
    model: Any  # a peft model
    tokenizer: Any
    limit: int
    report: TrainingReport | None = None

    @property
    def columns(self) -> list[str]:
        return [self.column]

    @classmethod
    def fit(
        cls,
        base: str,
        frame: pd.DataFrame,
        context: pd.DataFrame,
        validation: np.ndarray,
        settings: LanguageSettings,
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> CausalLanguageModel:
        from peft import LoraConfig, get_peft_model

        column = frame.columns[0]
        torch.manual_seed(settings.random_state if settings.random_state is not None else 0)
        tokenizer, model = _load_base(base)
        lora = LoraConfig(
            r=8, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
        )
        model = get_peft_model(model, lora)
        prompts = [_prompt(r) for r in context.to_dict("records")]
        targets = [None if pd.isna(v) else str(v) for v in frame[column]]
        ids, labels = _examples(tokenizer, prompts, targets)
        longest = max((int((np.asarray(lab) != -100).sum()) for lab in labels), default=1)
        report = _train(model, tokenizer, ids, labels, validation, settings, on_progress, should_stop)
        limit = min(int(longest * 1.1) + 2, MAX_TARGET_TOKENS)
        return cls(column, base, list(context.columns), model, tokenizer, limit, report)

    def sample(
        self,
        context: pd.DataFrame,
        seeded: Sequence[Sequence[Any] | None],
        settings: SampleSettings,
        on_progress: ProgressCallback,
    ) -> pd.DataFrame:
        prompts = [_prompt(r) for r in context.to_dict("records")]
        texts = _generate(self, prompts, settings, on_progress)
        given = seeded[0]
        if given is not None:
            texts = [t if g is FREE else g for t, g in zip(texts, given, strict=True)]
        return pd.DataFrame({self.column: pd.Series(texts, dtype=object)})

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(directory / ADAPTER)
        (directory / ADAPTER / "README.md").unlink(missing_ok=True)  # peft's model card: not needed
        meta = {
            "column": self.column,
            "base": self.base,
            "context": self.context_columns,
            "limit": self.limit,
        }
        (directory / CAUSAL_META).write_text(json.dumps(meta))

    @classmethod
    def load(cls, directory: Path) -> CausalLanguageModel:
        from peft import PeftModel

        meta = json.loads((directory / CAUSAL_META).read_text())
        tokenizer, base = _load_base(meta["base"])
        model = PeftModel.from_pretrained(base, str(directory / ADAPTER))
        model.eval()
        return cls(meta["column"], meta["base"], list(meta["context"]), model, tokenizer, int(meta["limit"]))

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / CAUSAL_META).is_file()


def _load_base(base: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = check_model_path(base, "?")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)
    return tokenizer, model


def _examples(
    tokenizer: Any, prompts: list[str], targets: list[str | None]
) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids of prompt + target + end, and labels that learn only the target and the end."""
    eos = tokenizer.eos_token_id
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    target_ids = tokenizer([t or "" for t in targets], add_special_tokens=False)["input_ids"]
    ids, labels = [], []
    for p, t in zip(prompt_ids, target_ids, strict=True):
        p, t = p[-MAX_PROMPT_TOKENS:], [*t[:MAX_TARGET_TOKENS], eos]
        ids.append(p + t)
        labels.append([-100] * len(p) + t)
    return ids, labels


def _batch(
    tokenizer: Any, ids: list[list[int]], labels: list[list[int]], rows: np.ndarray
) -> dict[str, torch.Tensor]:
    width = max(len(ids[i]) for i in rows)
    pad = tokenizer.pad_token_id
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)
    target = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for j, i in enumerate(rows):
        n = len(ids[i])
        input_ids[j, :n], target[j, :n], mask[j, :n] = torch.tensor(ids[i]), torch.tensor(labels[i]), 1
    return {"input_ids": input_ids, "attention_mask": mask, "labels": target}


def _train(
    model: Any,
    tokenizer: Any,
    ids: list[list[int]],
    labels: list[list[int]],
    validation: np.ndarray,
    settings: LanguageSettings,
    on_progress: ProgressCallback,
    should_stop: StopCheck,
) -> TrainingReport:
    """AdamW on the adapter's weights, one validation per epoch, the best epoch's weights kept."""
    rng = np.random.default_rng(settings.random_state)
    train_rows, val_rows = np.flatnonzero(~validation), np.flatnonzero(validation)[:512]
    batch = settings.batch_size or 8
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    started = time.monotonic()
    deadline = started + 60 * settings.max_training_time if settings.max_training_time else math.inf
    epochs = max(int(math.ceil(settings.max_epochs)), 0)
    best, best_state, stale, epoch, reason = math.inf, None, 0, 0, "max_epochs"
    for epoch in range(1, epochs + 1):
        model.train()
        for start in range(0, len(train_rows), batch):
            if should_stop():
                raise TrainingCanceled("training of the language model was canceled")
            loss = model(
                **_batch(tokenizer, ids, labels, rng.permutation(train_rows)[start : start + batch])
            ).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        val = _validation(model, tokenizer, ids, labels, val_rows) if len(val_rows) else float(loss.detach())
        if val < best:
            best, stale = val, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora" in k}
        else:
            stale += 1
        on_progress(
            EngineProgress(
                "TRAIN_MODEL",
                epoch,
                epochs,
                f"language model: epoch {epoch}, val loss {val:.3f}",
                epoch=epoch,
                loss=float(loss.detach()),
                val_loss=val,
                elapsed=time.monotonic() - started,
            )
        )
        if stale >= 3 or time.monotonic() > deadline:
            reason = "early_stopping" if stale >= 3 else "max_training_time"
            break
    if best_state is not None:
        model.load_state_dict(best_state, strict=False)
    model.eval()
    return TrainingReport(float(epoch), epoch, best, time.monotonic() - started, reason)


@torch.no_grad()
def _validation(
    model: Any, tokenizer: Any, ids: list[list[int]], labels: list[list[int]], rows: np.ndarray
) -> float:
    model.eval()
    losses = [
        float(model(**_batch(tokenizer, ids, labels, rows[s : s + 32])).loss) for s in range(0, len(rows), 32)
    ]
    return float(np.mean(losses))


@torch.no_grad()
def _generate(
    lm: CausalLanguageModel, prompts: list[str], settings: SampleSettings, on_progress: ProgressCallback
) -> list[str]:
    """Batched sampling, prompts padded on the left."""
    tokenizer = lm.tokenizer
    tokenizer.padding_side = "left"
    torch.manual_seed(settings.seed)
    out: list[str] = []
    batch = min(settings.batch_size, 64)
    for start in range(0, len(prompts), batch):
        encoded = tokenizer(
            prompts[start : start + batch], return_tensors="pt", padding=True, add_special_tokens=False
        )
        sampled = lm.model.generate(
            **encoded,
            max_new_tokens=lm.limit,
            do_sample=settings.temperature > 0,
            temperature=settings.temperature if settings.temperature > 0 else None,
            top_p=settings.top_p,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        out += tokenizer.batch_decode(sampled[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
        done = min(start + batch, len(prompts))
        on_progress(
            EngineProgress(
                "GENERATE_DATA_LANGUAGE", done, len(prompts), f"{done} of {len(prompts)} rows of text"
            )
        )
    return out
