"""The reference engine (mostlyai-engine 2.7.3) with differential privacy on the splits of
benchmarks/dp.py, for dp.py to score beside its own rows. Runs in its own venv, never the project's:

    python benchmarks/dp.py --export DATA            # the project's venv: writes the splits
    /work/refvenv/bin/python benchmarks/reference_dp.py --data DATA [--epsilons 3] [--seeds 1]
    python benchmarks/dp.py --reference DATA ...     # scores DATA/reference/* like its own rows

Per table, ε and seed it trains with `differential_privacy` = {max_epsilon: ε,
value_protection_epsilon: the share dp.py uses}, the reference's other defaults (noise multiplier
1.5, model MOSTLY_AI/Medium, its own 90/10 validation split and early stopping), generates as many
records as the training split has and writes DATA/reference/<table>-eps<ε>-seed<s>.parquet (for
baseball also the context: ...-players.parquet) and a .json with the ε it reports and the seconds
of analyze + encode + train. This file imports nothing of synth_dagster.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd
from mostlyai import engine
from mostlyai.engine.domain import DifferentialPrivacyConfig

KEY = "id"


def vp_epsilon(max_epsilon: float) -> float:
    """Must match benchmarks/dp.py: value protection gets a quarter of the budget, at most 1."""
    return min(1.0, max_epsilon / 4)


def reported_epsilon(workspace: Path) -> float | None:
    """The last ε in the reference's progress messages (the checkpoint it keeps is within it)."""
    path = workspace / "ModelStore" / "model-data" / "progress-messages.csv"
    if not path.exists():
        return None
    eps = pd.read_csv(path)["dp_eps"].dropna()
    return float(eps.iloc[-1]) if len(eps) else None


def run_one(data: Path, table: str, epsilon: float, seed: int) -> dict[str, float | None]:
    dp = DifferentialPrivacyConfig(max_epsilon=epsilon, value_protection_epsilon=vp_epsilon(epsilon))
    engine.set_random_state(seed)
    with tempfile.TemporaryDirectory(prefix="ref-dp-") as tmp:
        ws = Path(tmp) / "ws"
        t0 = time.perf_counter()
        if table == "diamonds":
            trn = pd.read_parquet(data / "diamonds-training.parquet")
            engine.split(tgt_data=trn, model_type="TABULAR", workspace_dir=ws)
            ctx = None
        else:
            trn = pd.read_parquet(data / "baseball-batting-training.parquet")
            ctx = pd.read_parquet(data / "baseball-players-training.parquet")
            engine.split(
                tgt_data=trn,
                ctx_data=ctx,
                tgt_context_key=KEY,
                ctx_primary_key=KEY,
                model_type="TABULAR",
                workspace_dir=ws,
            )
        engine.analyze(value_protection=True, differential_privacy=dp, workspace_dir=ws)
        engine.encode(workspace_dir=ws)
        engine.train(differential_privacy=dp, workspace_dir=ws)
        train_s = time.perf_counter() - t0
        eps = reported_epsilon(ws)
        if ctx is None:
            engine.generate(sample_size=len(trn), workspace_dir=ws)
        else:
            engine.generate(ctx_data=ctx, workspace_dir=ws)
        synthetic = pd.read_parquet(ws / "SyntheticData")
    out = data / "reference"
    out.mkdir(exist_ok=True)
    stem = f"{table}-eps{epsilon:g}-seed{seed}"
    synthetic.to_parquet(out / f"{stem}.parquet")
    if ctx is not None:
        ctx.to_parquet(out / f"{stem}-players.parquet")
    meta = {"epsilon": eps, "train_s": train_s, "max_epsilon": epsilon, "seed": seed}
    (out / f"{stem}.json").write_text(json.dumps(meta))
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="the folder benchmarks/dp.py --export wrote")
    parser.add_argument("--tables", nargs="+", default=["diamonds", "baseball"])
    parser.add_argument("--epsilons", nargs="+", type=float, default=[1.0, 3.0, 10.0])
    parser.add_argument("--seeds", type=int, default=1, help="training seeds 1..N")
    args = parser.parse_args()
    for table in args.tables:
        for epsilon in args.epsilons:
            for seed in range(1, args.seeds + 1):
                meta = run_one(args.data, table, epsilon, seed)
                print(f"{table} max_epsilon {epsilon:g} seed {seed}: {meta}", flush=True)


if __name__ == "__main__":
    main()
