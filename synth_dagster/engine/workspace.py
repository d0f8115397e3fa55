"""What a trained generator's workspace may hold, and a full check of one before it is trusted.

A workspace is written by `train_generator` and read by `TrainedGenerator`. Imported workspaces
(exported ZIPs) come from outside: `allowed_file` says which relative paths a workspace can have at
all, and `check_workspace` loads every part of it, so that a tampered or truncated file is refused
at import with a message rather than failing at the first probe. Nothing in a workspace is a
pickle: models are torch state dicts read with `weights_only=True`, data is Parquet or `.npy`
without pickled objects, and the rest is JSON.
"""

from __future__ import annotations

import re
from pathlib import Path

from synth_dagster.domain.names import path_component
from synth_dagster.engine.errors import EngineInputError

MANIFEST = "generator.json"
TABLES_DIR = "tables"
_TABLE_FILES = frozenset(
    {"meta.json", "model.pt", "keys.json", "sequence.json", "sequence.pt", "rows.parquet", "codes.npy"}
    # the language model of LANGUAGE_* columns (engine/language)
    | {"language.json", "language.pt", "language-tokenizer.json", "causal.json"}
)
_ADAPTER_DIR = "causal-adapter"  # a fine-tuned causal LM's LoRA adapter, as peft writes it
_ADAPTER_FILES = frozenset({"adapter_model.safetensors", "adapter_config.json"})
_MATCHER_FILES = frozenset({"matcher.json", "matcher.pt"})
_COMBINATIONS = re.compile(r"combinations_\d{1,4}\.parquet")


def allowed_file(relative: str) -> bool:
    """Whether a path (relative to the workspace, `/`-separated) is one a workspace can hold."""
    parts = relative.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return False
    if parts == [MANIFEST]:
        return True
    if parts[0] != TABLES_DIR or len(parts) not in (3, 4):
        return False
    if len(parts) == 3:
        return parts[2] in _TABLE_FILES or bool(_COMBINATIONS.fullmatch(parts[2]))
    if parts[2] == _ADAPTER_DIR:
        return parts[3] in _ADAPTER_FILES
    return parts[2].startswith("fk-") and parts[3] in _MATCHER_FILES


def check_workspace(directory: str | Path) -> None:
    """Load every model, key role, lookup table and key matcher of a workspace; EngineInputError
    naming the broken part if any of them cannot be read."""
    from synth_dagster.engine.multitable import TrainedGenerator  # why lazy: multitable imports this

    directory = Path(directory)
    unexpected = [
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and not allowed_file(p.relative_to(directory).as_posix())
    ]
    if unexpected:
        raise EngineInputError(
            f"the generator's model folder holds files no generator writes: {unexpected[:5]}; "
            "it was not made by synth_dagster, refuse to load it"
        )
    part = MANIFEST
    try:
        trained = TrainedGenerator(directory)
        for name in trained.order:
            part = f"table {name!r}"
            trained.check_table(name)
    except EngineInputError:
        raise
    except Exception as exc:  # every way a crafted or cut file can fail to load
        raise EngineInputError(
            f"the generator's model files are broken or were altered ({part}: {type(exc).__name__}: "
            f"{str(exc)[:200]}); export the generator again from a store where it works"
        ) from None


def table_dir(workspace: str | Path, table: str) -> Path:
    """The folder of one table's model inside a workspace (the name made safe as a path)."""
    return Path(workspace) / TABLES_DIR / path_component(table, f"table name {table!r}")


def matcher_dir(workspace: str | Path, table: str, column: str) -> Path:
    """The folder of the key matcher of a table's foreign key column."""
    return table_dir(workspace, table) / ("fk-" + path_component(column, f"column name {column!r}"))
